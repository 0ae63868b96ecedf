"""Errors the tap raises, each phrased for the operator who has to act on it.

Every error that a user can fix derives from :class:`UserFacingError`; the CLI
prints its message as one line, without a traceback, and exits non-zero.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error the operator can act on; printed as one line, no traceback."""


class ConfigError(UserFacingError):
    """A setting is missing, malformed or contradicts another setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"Invalid setting '{setting}': {problem}")


class EmarsysAPIError(UserFacingError):
    """Emarsys answered with an error the tap cannot recover from by retrying."""

    def __init__(
        self,
        *,
        status: int,
        reply_code: int | None,
        reply_text: str,
        endpoint: str,
        hint: str = "",
        message: str | None = None,
    ) -> None:
        """Build the one line: endpoint, status, replyCode, Emarsys' text and the hint.

        ``message`` replaces that line when the cause is better told another way.
        """
        self.status = status
        self.reply_code = reply_code
        self.reply_text = reply_text
        self.endpoint = endpoint
        code = f", replyCode {reply_code}" if reply_code is not None else ""
        line = f"Emarsys {endpoint} failed (HTTP {status}{code})"
        if reply_text.strip():
            line += f": {reply_text.strip()}"
        if hint:
            line = join_sentences(line, hint)
        super().__init__(message or line)


class WsseRetiredError(EmarsysAPIError):
    """Emarsys refused WSSE after its retirement date; the message is the way to OAuth."""


def join_sentences(first: str, second: str) -> str:
    """``first`` and ``second`` as two sentences, without doubling Emarsys' own full stop."""
    first = first.rstrip()
    if not first or first.endswith((".", "!", "?")):
        return f"{first} {second}".strip()
    return f"{first}. {second}"


class TransientAPIError(Exception):
    """A response or connection failure worth retrying (5xx, 429, resets).

    It only escapes the client once the retry budget is spent, wrapped in
    :class:`RetriesExhaustedError`.
    """

    def __init__(self, message: str, *, wait_until: float | None = None) -> None:
        self.wait_until = wait_until
        super().__init__(message)


class RetriesExhaustedError(UserFacingError):
    """A request kept failing with retryable errors until the retry budget ran out."""


class TokenUnavailableError(UserFacingError):
    """No OAuth token can be had, so no request of this run can be sent."""


class TokenRetriesExhaustedError(TokenUnavailableError, RetriesExhaustedError):
    """The token endpoint failed too often (5xx, timeouts); the run stops asking."""


class ExportFailedError(UserFacingError):
    """An export ended in status ``error`` on the Emarsys side."""


class ExportTimeoutError(UserFacingError):
    """An export did not finish within ``export_timeout_seconds``."""


class ExportExpiredError(Exception):
    """The export file is gone (HTTP 410 / replyCode 4003); the window is exported again."""


class ExportBusyError(Exception):
    """Emarsys runs an export with identical settings (replyCode 4001)."""


class CSVFormatError(UserFacingError):
    """The downloaded CSV does not have the shape the tap asked for."""


class TruncatedDownloadError(Exception):
    """The download ended early; the window is downloaded again, never half-emitted."""


class RemoteLoginError(UserFacingError):
    """The FTP/SFTP server refused ``ftp_settings.username`` or ``ftp_settings.password``."""


class RemoteServerError(UserFacingError):
    """The FTP/SFTP server cannot be reached, or refuses TLS or the transfer."""


class RemotePathError(UserFacingError):
    """The export status reply names a file outside ``ftp_settings.folder``; nothing is read."""


class HostKeyError(UserFacingError):
    """The SFTP server's host key is not the pinned or known one; the password is not sent."""

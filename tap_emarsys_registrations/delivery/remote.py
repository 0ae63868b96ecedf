"""Export files that Emarsys uploaded to the user's server: finding, waiting, tidying up.

Emarsys reports ``done`` only after the upload, with ``file_name`` (and
``ftp_dir``) in the status. The tap reads and deletes only
``ftp_settings.folder/file_name``: a reply that names anything else stops the
run before any file is touched (``remote_path``). The file is streamed in chunks, never held in
memory; its size (FTP ``SIZE``, SFTP ``stat``) is the expected length, so a
transfer cut short is caught and downloaded again. A file or folder that is
not there (yet) is looked for again until ``export_timeout_seconds``; refused
credentials stop the run at once. Messages never contain the password.
The protocols live in ``ftp`` (FTP and FTPS) and ``sftp`` (paramiko, loaded
only when configured); ``delivery.remote_delivery`` picks one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.delivery.remote_path import (
    UnsafeReplyValue,
    confined_path,
    shown,
)
from tap_emarsys_registrations.errors import (
    ExportTimeoutError,
    RemoteLoginError,
    RemotePathError,
    RemoteServerError,
)
from tap_emarsys_registrations.poll import Poll

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.delivery.body import Body
    from tap_emarsys_registrations.poll import PollPolicy
    from tap_emarsys_registrations.settings.remote import RemoteSettings

LOGGER: Final = logging.getLogger(__name__)
MAX_CONNECT_ATTEMPTS: Final = 5


class RemoteFileMissingError(Exception):
    """The file or its folder is not on the server (yet); looked for again."""


class RemoteUnreachableError(Exception):
    """The server could not be reached or dropped the session; tried again a few times."""


def remote_path(
    status: dict[str, Any], remote: RemoteSettings, describe: str, login_folder: Callable[[], str]
) -> str:
    """The export's file: ``ftp_settings.folder/file_name``, once the reply agrees with it.

    ``login_folder`` is asked only when the reply's ``ftp_dir`` is absolute.

    Raises:
        RemotePathError: the reply's ``file_name`` or ``ftp_dir`` points elsewhere.
    """
    try:
        return confined_path(status, remote.folder, login_folder)
    except UnsafeReplyValue as exc:
        folder = f"'{remote.folder}'" if remote.folder else "(the login folder)"
        raise RemotePathError(
            f"{describe}: the export status reply's {exc.field} {shown(exc.value)} "
            f"{exc.problem}; the tap reads and deletes only a plain file name inside "
            f"ftp_settings.folder {folder}, so it stopped without reading or deleting anything "
            "and the bookmark stays before this window",
        ) from None


class RemoteDelivery:
    """Finds an export's file on the server, waits while it is missing, tidies up."""

    def __init__(
        self,
        remote: RemoteSettings,
        policy: PollPolicy,
        clock: Clock,
        *,
        timeout: float,
        stop: threading.Event | None = None,
    ) -> None:
        self._remote = remote
        self._policy = policy
        self._clock = clock
        self._timeout = timeout
        self._stop = stop
        self._login_folder: str | None = None

    def _clean(self, error: object) -> str:
        """A server message on one line, with the password masked should it echo it."""
        return " ".join(str(error).replace(self._remote.password, "***").split())

    def _open(self, path: str) -> Body:
        """Connect, log in and start streaming ``path``."""
        raise NotImplementedError

    def _delete(self, path: str) -> None:
        """Connect, log in and delete ``path``."""
        raise NotImplementedError

    def _home(self) -> str:
        """Connect, log in and return the login folder as the server names it."""
        raise NotImplementedError

    def _login_folder_once(self) -> str:
        """The login folder, asked of the server once per run."""
        if self._login_folder is None:
            self._login_folder = self._home()
        return self._login_folder

    def open(self, export_id: int, status: dict[str, Any], describe: str) -> Body:
        """Open the uploaded file, waiting while it is not there and retrying connections.

        Raises:
            CancelledError: the run stopped while waiting; nothing was read.
        """
        del export_id
        remote = self._remote
        poll, failures = Poll(self._policy, self._clock, self._stop), 0
        while True:
            try:
                path = remote_path(status, remote, describe, self._login_folder_once)
                return self._open(path)
            except RemoteFileMissingError as exc:
                wait = poll.next_wait()
                if wait is None:
                    raise ExportTimeoutError(
                        f"{describe}: '{path}' is still missing on ftp_settings.host "
                        f"'{remote.host}' after {self._policy.timeout:g}s "
                        f"(export_timeout_seconds), though Emarsys reports the upload done "
                        f"({exc}); check ftp_settings.folder",
                    ) from None
                LOGGER.info("%s: '%s' is not on the server yet (%s)", describe, path, exc)
            except RemoteUnreachableError as exc:
                wait = poll.next_interval()  # bounded by the attempts, not the deadline
                failures += 1
                if failures >= MAX_CONNECT_ATTEMPTS:
                    raise RemoteServerError(
                        f"{describe}: cannot read from ftp_settings.host '{remote.host}' port "
                        f"{remote.port} after {failures} attempts ({exc}); check "
                        "ftp_settings.host and port, and that this machine may connect",
                    ) from None
                LOGGER.warning(
                    "%s: reading from ftp_settings.host failed (%s); retrying", describe, exc
                )
            poll.sleep(wait)

    def window_done(self, export_id: int, status: dict[str, Any]) -> None:
        """With ``delete_remote_file``, delete the file; a failure is only a warning."""
        if not self._remote.delete_after:
            return
        # open() checked the reply already: this cannot fail, and no file is touched if it did.
        path = remote_path(status, self._remote, f"export {export_id}", self._login_folder_once)
        try:
            self._delete(path)
        except (
            RemoteLoginError,
            RemoteServerError,
            RemoteFileMissingError,
            RemoteUnreachableError,
        ) as exc:
            LOGGER.warning("export %d: could not delete '%s' (%s); it stays", export_id, path, exc)
        else:
            LOGGER.info("export %d: deleted '%s' from ftp_settings.host", export_id, path)

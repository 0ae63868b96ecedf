"""The life of one Emarsys export: start it, wait for it, open its download.

One method per API call, named statuses, and waits through one ``Poll`` (a
deadline, an interval that grows to a cap, and the run's stop signal). "Job
not ready" is job state, not a transport error, so it never goes through the HTTP retry budget.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.emarsys.client import ExportNotReadyError
from tap_emarsys_registrations.emarsys.request_form import RequestForm, RequestForms
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportBusyError,
    ExportFailedError,
    ExportTimeoutError,
)
from tap_emarsys_registrations.poll import Poll

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    import requests

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.emarsys.client import EmarsysClient
    from tap_emarsys_registrations.poll import PollPolicy
    from tap_emarsys_registrations.settings.export import ExportOptions

LOGGER: Final = logging.getLogger(__name__)


def status_text(data: dict[str, Any]) -> str:
    """The normalised ``status`` of a status reply ('' when missing).

    Emarsys documents ``in progress`` with a space; a public client sees
    ``in_progress``. Underscores are read as spaces, so both spellings match.
    """
    raw = str(data.get("status") or "").strip().lower()
    return " ".join(raw.replace("_", " ").split())


class ExportStatus(StrEnum):
    """Statuses of ``GET /export/{id}``; ``ready`` still means "not downloadable yet"."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in progress"
    READY = "ready"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """The body of one ``POST /contact/getregistrations``."""

    time_range: tuple[str, str]
    contact_fields: tuple[int, ...]
    options: ExportOptions

    @property
    def learns_form(self) -> bool:
        """Whether the body's form is learned (sftp: see ``emarsys.request_form``)."""
        return self.options.remote is not None and self.options.distribution_method == "sftp"

    def body(self, form: RequestForm | None = None) -> dict[str, Any]:
        """The JSON body Emarsys expects; sftp's settings in ``form``, if given.

        Without ``form`` the settings are ``ftp_settings`` with an integer port:
        the canonical body behind ``fingerprint``, whatever form the run sends.
        """
        options = self.options
        body: dict[str, Any] = {
            "distribution_method": options.distribution_method,
            "time_range": list(self.time_range),
            "contact_fields": list(self.contact_fields),
            "delimiter": options.delimiter,
            "add_field_names_header": int(options.add_field_names_header),
            "with_timestamp": int(options.with_timestamp),
            "language": options.language,
        }
        if options.contactlist is not None:
            body["contactlist"] = options.contactlist
        if options.notification_url is not None:
            body["notification_url"] = options.notification_url
        if options.remote is not None:
            settings = options.remote.request_settings()
            key = "ftp_settings"
            if form is not None and self.learns_form:
                key, settings = form.render(settings)
            body[key] = settings
        return body

    def fingerprint(self) -> str:
        """A short digest of the body, so a saved export is reused only for identical settings.

        It goes into STATE, so the FTP password is replaced by its slow, salted
        digest: a changed password still means a new export, and STATE holds
        nothing to read the password from.
        """
        body = self.body()
        remote = self.options.remote
        if remote is not None:
            body["ftp_settings"]["password"] = remote.password_digest
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ExportJobs:
    """Starts, polls and downloads exports through one client."""

    def __init__(
        self,
        client: EmarsysClient,
        policy: PollPolicy,
        clock: Clock,
        stop: threading.Event | None = None,
        *,
        ready_hint: str = "",
        forms: RequestForms | None = None,
    ) -> None:
        self._client = client
        self._forms = forms or RequestForms()
        self._policy = policy
        self._clock = clock
        self._stop = stop
        self._ready_hint = ready_hint

    def _poll(self) -> Poll:
        return Poll(self._policy, self._clock, self._stop)

    def start(self, request: ExportRequest, describe: str) -> int:
        """Start an export and return its id.

        A 4001 reply (an identical export is still running, e.g. one a killed
        run started) is waited out until ``export_timeout_seconds``. An sftp
        request refused for its settings' form is sent again in the other form
        (``emarsys.request_form``).
        """
        poll = self._poll()
        while True:
            try:
                data = self._post(request)
            except ExportBusyError:
                wait = poll.next_wait()
                if wait is None:
                    raise ExportTimeoutError(
                        f"{describe}: Emarsys kept answering 4001 (an identical export is "
                        f"running) for {self._policy.timeout:g}s (export_timeout_seconds); "
                        "rerun later",
                    ) from None
                LOGGER.info(
                    "%s: an identical export is still running (4001); retrying in %.1fs",
                    describe,
                    wait,
                )
                poll.sleep(wait)
                continue
            try:
                return int(data["id"])
            except (TypeError, KeyError, ValueError):
                raise EmarsysAPIError(
                    status=200,
                    reply_code=0,
                    reply_text="the reply carried no export id",
                    endpoint="contact/getregistrations",
                    hint="Check api_url: it must point at the Emarsys API",
                ) from None

    def _post(self, request: ExportRequest) -> Any:  # noqa: ANN401 - the reply's data
        """POST the request; with sftp, in the form Emarsys takes, learned on the way."""
        if not request.learns_form:
            return self._client.post("contact/getregistrations", request.body())
        while True:
            with self._forms.sending() as form:
                try:
                    data = self._client.post("contact/getregistrations", request.body(form))
                except EmarsysAPIError as exc:
                    if exc.status == 400 and self._forms.learn(form, exc.reply_text):  # noqa: PLR2004
                        continue
                    raise
                except ExportBusyError:
                    self._forms.worked(form)  # the same body is running: it was taken
                    raise
                self._forms.worked(form)
                return data

    def status_data(self, export_id: int) -> dict[str, Any]:
        """The export's status reply (``status``, ``file_name``, ``ftp_dir``...)."""
        data = self._client.get(f"export/{export_id}")
        return data if isinstance(data, dict) else {}

    def wait_until_done(
        self,
        export_id: int,
        describe: str,
        on_status: Callable[[str, float], None],
    ) -> dict[str, Any]:
        """Poll until the export is ``done``; return its final status reply.

        Raises:
            ExportFailedError: the export ended in ``error``.
            ExportTimeoutError: it was not done within ``export_timeout_seconds``.
        """
        poll = self._poll()
        last = ""
        noted: set[str] = set()
        while True:
            data = self.status_data(export_id)
            status = status_text(data)
            self._note_spelling(data, status, describe, noted)
            if status != last:
                on_status(status, poll.elapsed())
                last = status
            if status == ExportStatus.DONE:
                return data
            if status == ExportStatus.ERROR:
                raise ExportFailedError(
                    f"{describe}: Emarsys export {export_id} ended in status 'error'. The "
                    "bookmark stays before this window, so a rerun exports it again; if it "
                    "keeps failing, lower window_hours or select fewer fields",
                )
            if not poll.wait():
                ready = self._ready_hint and status == ExportStatus.READY
                hint = f" {self._ready_hint}." if ready else ""
                raise ExportTimeoutError(
                    f"{describe}: export {export_id} is still '{status}' after "
                    f"{self._policy.timeout:g}s (export_timeout_seconds).{hint} A rerun resumes "
                    "waiting for this export; raise export_timeout_seconds if exports take "
                    "longer",
                )

    @staticmethod
    def _note_spelling(data: dict[str, Any], status: str, describe: str, noted: set[str]) -> None:
        """Log an unknown status, or an unusual spelling of a known one, once per export."""
        raw = str(data.get("status") or "")
        if raw in noted:
            return
        noted.add(raw)
        if status not in set(ExportStatus):
            LOGGER.warning("%s: unknown export status %r; waiting", describe, raw)
        elif raw != status:
            LOGGER.debug("%s: Emarsys spells the status %r; read as %r", describe, raw, status)

    def open_download(self, export_id: int, describe: str, page: str = "") -> requests.Response:
        """Open the streamed CSV body, waiting while Emarsys still answers 4005.

        ``page`` follows ``/data`` in the URL: an offset in the query or path form.
        """
        poll = self._poll()
        while True:
            try:
                return self._client.send("GET", f"export/{export_id}/data{page}", stream=True)
            except ExportNotReadyError:
                if not poll.wait():
                    raise ExportTimeoutError(
                        f"{describe}: the data of export {export_id} stayed unavailable "
                        f"(4005) for {self._policy.timeout:g}s (export_timeout_seconds)",
                    ) from None

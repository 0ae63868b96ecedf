"""Asynchronous export jobs: creation, status progression, expiry."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox import vienna
from sandbox.replies import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.config import Faults
    from sandbox.profile import ExportTime
    from sandbox.validation import ExportRequest

FIRST_EXPORT_ID = 100_000_001
SAME_EXPORT_RUNNING = (
    "An export with the same setting is currently running. "
    "It is not possible to run the same export more than once simultaneously."
)
FINISHED = ("done", "error")


@dataclass(frozen=True)
class ExportJobInfo:
    """A point-in-time snapshot of one export job."""

    id: int
    body: dict[str, Any]
    created: datetime
    status: str
    file_name: str | None
    distribution_method: str
    finished: bool


class ExportJob:
    """One export job; its status is derived from elapsed time and the fault switches."""

    def __init__(
        self,
        job_id: int,
        body: dict[str, Any],
        request: ExportRequest,
        *,
        created: float,
        delay: float,
        fail: bool,
        clock: Callable[[], float] = time.monotonic,
        owner: str = "",
    ) -> None:
        """Create a job started at server epoch ``created``; ``clock`` measures its progress.

        ``owner`` names the credential that started it (``v2`` for WSSE, ``v3`` for OAuth).
        """
        self.id = job_id
        self.owner = owner
        self.body = body
        self.key = json.dumps(body, sort_keys=True, separators=(",", ":"))
        self.request = request
        self.created = created
        self._clock = clock
        self.started = clock()
        self.delay = delay
        self.fail = fail
        self.finished_at: float | None = None
        self.content_length: int | None = None
        # ftp/sftp: done only once the file is on the user's server (see sandbox/upload.py).
        self.uploaded = request.distribution_method == "local"
        self.upload_lock = threading.Lock()
        self.next_upload = 0.0
        self.upload_error: str | None = None
        self._held = False
        self._lock = threading.Lock()

    def _final(self) -> str:
        if self.fail:
            return "error"
        return "done" if self.uploaded else "ready"

    def status(self, faults: Faults) -> str:
        """Return the current status: scheduled, in progress, ready, done or error."""
        now = self._clock()
        with self._lock:
            if self.finished_at is not None:
                return self._final()
            elapsed = now - self.started
            if elapsed < self.delay / 3:
                return "scheduled"
            if faults.never_finish:
                self._held = True
                return "in progress"
            if elapsed < 2 * self.delay / 3:
                return "in progress"
            if elapsed < self.delay:
                return "ready"
            self.finished_at = now if self._held else self.started + self.delay
            return self._final()

    def expired(self, expiry_seconds: float | None, faults: Faults) -> bool:
        """Return whether a finished job's file is gone (410/4003)."""
        if faults.expire_now:
            return True
        if expiry_seconds is None or self.finished_at is None:
            return False
        return self._clock() - self.finished_at > expiry_seconds

    def awaiting_upload(self, faults: Faults) -> bool:
        """Return whether the file is built but not yet on the user's FTP/SFTP server."""
        self.status(faults)
        return not self.uploaded and not self.fail and self.finished_at is not None

    def csv_name(self) -> str:
        """Return the name of the export file."""
        return f"registrations_{self.id}_{self.request.language}.csv"

    def file_name(self, status: str) -> str | None:
        """Return the file name, which is null until the job is done."""
        return self.csv_name() if status == "done" else None

    def created_local(self) -> str:
        """Return ``created`` as Vienna ``YYYY-MM-DD HH:MM:SS``."""
        return vienna.format_local(datetime.fromtimestamp(int(self.created), UTC))

    def status_data(self, faults: Faults) -> dict[str, Any]:
        """Return the ``data`` object of the status reply (the id is a string there)."""
        status = self.status(faults)
        settings = self.request.ftp_settings or {}
        remote = self.request.distribution_method != "local"
        data = {
            "id": str(self.id),
            "created": self.created_local(),
            "status": status,
            "type": "Registrations",
            "file_name": self.file_name(status),
            "ftp_host": str(settings.get("host", "")) if remote else "",
            "ftp_dir": str(settings.get("folder", "")) if remote else "",
        }
        if remote and status == "done":
            if faults.reply_file_name is not None:
                data["file_name"] = faults.reply_file_name
            if faults.reply_ftp_dir is not None:
                data["ftp_dir"] = faults.reply_ftp_dir
        return data

    def info(self, faults: Faults) -> ExportJobInfo:
        """Return a snapshot of this job."""
        status = self.status(faults)
        return ExportJobInfo(
            id=self.id,
            body=json.loads(self.key),
            created=datetime.fromtimestamp(self.created, UTC),
            status=status,
            file_name=self.file_name(status),
            distribution_method=self.request.distribution_method,
            finished=status in FINISHED,
        )


class ExportStore:
    """All export jobs of the sandbox, with the "same export running" rule."""

    def __init__(
        self,
        export_time: ExportTime,
        clock: Callable[[], float] = time.monotonic,
        *,
        scope: str = "account",
    ) -> None:
        """Create an empty store; a job's duration on ``clock`` follows ``export_time``.

        With ``scope="credential"`` a job is found only by the credential that started it.
        """
        self.export_time = export_time
        self.scope = scope
        self._clock = clock
        self._jobs: dict[int, ExportJob] = {}
        self._next_id = FIRST_EXPORT_ID
        self._lock = threading.Lock()

    def start(
        self,
        body: dict[str, Any],
        request: ExportRequest,
        faults: Faults,
        now: float,
        rows: int = 0,
        *,
        owner: str = "",
    ) -> ExportJob:
        """Start a job of ``rows`` rows, or raise 400/4001 if an identical one still runs."""
        key = json.dumps(body, sort_keys=True, separators=(",", ":"))
        with self._lock:
            for job in self._jobs.values():
                if self.scope == "credential" and job.owner != owner:
                    continue  # another credential's export is not visible, so not "the same"
                if job.key == key and job.status(faults) not in FINISHED:
                    raise ApiError(400, 4001, SAME_EXPORT_RUNNING)
            fail = faults.fail_next_exports > 0
            if fail:
                faults.fail_next_exports -= 1
            job = ExportJob(
                self._next_id,
                body,
                request,
                created=now,
                delay=self.export_time.seconds(rows),
                fail=fail,
                clock=self._clock,
                owner=owner,
            )
            self._jobs[job.id] = job
            self._next_id += 1
        return job

    def get(self, raw_id: str, owner: str = "") -> ExportJob:
        """Return the job for a path id, or raise 400/10001 ``Invalid export ID``.

        In the ``credential`` scope another credential's job is not found either.
        """
        job = self._jobs.get(int(raw_id)) if raw_id.isdigit() else None
        if job is not None and self.scope == "credential" and job.owner != owner:
            job = None
        if job is None:
            raise ApiError(400, 10001, "Invalid export ID")
        return job

    def jobs(self) -> list[ExportJob]:
        """Return all jobs in creation order."""
        with self._lock:
            return list(self._jobs.values())

"""The public ``Sandbox`` facade: start/stop the server thread, expose state to tests."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sandbox.app import SandboxApp
from sandbox.config import Faults, SandboxConfig
from sandbox.handler import HOST, SandboxHTTPServer

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from types import TracebackType

    from sandbox.dataset import Dataset, TruthRow
    from sandbox.exports import ExportJobInfo
    from sandbox.requestlog import RequestLogEntry


class Sandbox:
    """A local Emarsys API simulator on ``127.0.0.1``, run in a background thread.

    Use as a context manager (``with Sandbox(cfg) as sb: ...``) or call ``start()`` and
    ``stop()`` yourself.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        """Prepare (but do not start) a sandbox for ``config`` (defaults if omitted).

        ``clock`` (epoch seconds) replaces real time for tokens, WSSE timestamps, rate
        limits and export progress, so that a test can share one virtual clock with the tap.
        """
        self.config = config or SandboxConfig()
        self._app = SandboxApp(self.config, clock)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        """Bind the port and start serving; returns ``self``. Idempotent."""
        if self._server is None:
            server = SandboxHTTPServer(self._app, self.config.port)
            thread = threading.Thread(
                target=server.serve_forever,
                # stop() waits for this loop to look up: a short interval keeps a
                # sandbox per test cheap.
                kwargs={"poll_interval": 0.01},
                name=f"emarsys-sandbox-{server.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and release the port. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        """Start the sandbox."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the sandbox; fail when it sent a reply that breaks the contract.

        A drifting sandbox thus fails the test that used it (``check_replies``).
        """
        self.stop()
        if exc is None and self.contract_violations:
            msg = "the sandbox broke the reply contract: " + "; ".join(self.contract_violations)
            raise AssertionError(msg)

    @property
    def app(self) -> SandboxApp:
        """Return the request handling behind the server (tests reach its checks)."""
        return self._app

    @property
    def contract_violations(self) -> list[str]:
        """Return every way a reply broke its reply schema so far (``check_replies``)."""
        return list(self._app.contract_violations)

    @property
    def port(self) -> int:
        """Return the bound port (only while running)."""
        if self._server is None:
            msg = "the sandbox is not running"
            raise RuntimeError(msg)
        return self._server.port

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        """Return the API base (append ``/v2`` or ``/v3``)."""
        return f"{self.base_url}/api"

    @property
    def token_url(self) -> str:
        """Return the OAuth2 token endpoint URL."""
        return f"{self.base_url}{self.config.token_path}"

    @property
    def faults(self) -> Faults:
        """Return the live, mutable fault switches."""
        return self._app.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        with self._app.fault_lock:
            self._app.faults = value

    @property
    def requests(self) -> list[RequestLogEntry]:
        """Return a copy of the request log (control endpoints excluded), oldest first."""
        return self._app.log.snapshot()

    @property
    def token_requests(self) -> list[RequestLogEntry]:
        """Return the logged requests to the OAuth token endpoint, oldest first."""
        return self._app.log.to_path(self.config.token_path)

    def revoke_tokens(self) -> int:
        """Make every token issued so far invalid (the API answers 401); return how many."""
        return self._app.tokens.revoke_all()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._app.log.clear()

    def truth(self, start: datetime, end: datetime) -> list[TruthRow]:
        """Return the registrations with ``start <= registered_at < end`` (UTC)."""
        return self._app.dataset.truth(start, end)

    @property
    def dataset(self) -> Dataset:
        """Return the dataset (fields and registrations)."""
        return self._app.dataset

    @property
    def export_jobs(self) -> list[ExportJobInfo]:
        """Return snapshots of all export jobs, oldest first."""
        return [job.info(self._app.faults) for job in self._app.exports.jobs()]

    def credentials(self) -> dict[str, str]:
        """Return URLs and credentials, e.g. to build a tap config."""
        cfg = self.config
        return {
            "base_url": self.base_url,
            "api_url": self.api_url,
            "token_url": self.token_url,
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "username": cfg.username,
            "secret": cfg.secret,
        }

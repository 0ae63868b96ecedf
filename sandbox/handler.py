"""HTTP layer: the threading server bound to 127.0.0.1 and its request handler."""

from __future__ import annotations

import socket
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, urlsplit

from sandbox.control import PREFIX, handle_control
from sandbox.replies import envelope
from sandbox.requestlog import IncomingRequest

if TYPE_CHECKING:
    from sandbox.app import SandboxApp
    from sandbox.csvrender import CsvBody, FileBody
    from sandbox.replies import Reply

HOST = "127.0.0.1"


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its app and can close idle keep-alive sockets."""

    daemon_threads = True

    def __init__(self, app: SandboxApp, port: int) -> None:
        """Bind to ``127.0.0.1:port`` (0 picks a free port)."""
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((HOST, port), SandboxHandler)

    @property
    def port(self) -> int:
        """Return the bound port."""
        return int(self.server_address[1])

    def process_request(
        self,
        request: socket.socket | tuple[bytes, socket.socket],
        client_address: object,
    ) -> None:
        """Track the connection, then handle it on a new thread."""
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        """Forget and close a finished connection."""
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every still-open client connection (used when stopping)."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue


class SandboxHandler(BaseHTTPRequestHandler):
    """Parses requests, delegates to the app, and writes replies with the configured framing."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (about 40 ms per request on loopback).
    disable_nagle_algorithm = True
    server_version = "EmarsysSandbox/1.0"
    sys_version = ""

    @property
    def app(self) -> SandboxApp:
        """Return the app of the owning server."""
        return cast("SandboxHTTPServer", self.server).app

    def do_GET(self) -> None:
        """Handle GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Handle POST."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Handle PUT (answered 501 by the API)."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Handle DELETE (answered 501 by the API)."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Handle PATCH (answered 501 by the API)."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """Handle HEAD (answered 501 by the API, without a body)."""
        self._dispatch()

    def do_OPTIONS(self) -> None:
        """Handle OPTIONS (answered 501 by the API)."""
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of base
        """Stay quiet; the sandbox keeps its own request log."""

    def version_string(self) -> str:
        """Return the ``Server`` header value."""
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Return the ``Date`` header value from the (possibly offset) server clock."""
        return formatdate(self.app.now() if timestamp is None else timestamp, usegmt=True)

    def _dispatch(self) -> None:
        received = time.monotonic()
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        body = self.rfile.read(length) if length > 0 else b""
        request = IncomingRequest(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=body,
            received=received,
            server_time=self.app.now(),
        )
        app = self.app
        if url.path == PREFIX or url.path.startswith(PREFIX + "/"):
            self._send(handle_control(app, request))
            return
        if url.path.startswith("/api/") and self._connection_fault():
            app.log.append(request.log_entry(0, None))  # status 0: no reply was sent
            return
        try:
            reply = app.handle(request)
        except Exception:  # noqa: BLE001 - any bug must still produce an HTTP reply
            reply = envelope(500, 1003, "Sandbox internal error")
        app.log.append(request.log_entry(reply.status, reply.reply_code))
        try:
            self._send(reply)
        except OSError:  # the client gave up first (e.g. after a stall)
            self.close_connection = True

    def _connection_fault(self) -> bool:
        """Apply ``stall_seconds`` and ``drop_connections``; True when the reply is dropped."""
        faults = self.app.faults
        if faults.stall_seconds > 0:
            time.sleep(faults.stall_seconds)
        if faults.drop_connections:
            self._abort()
            return True
        return False

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.csv is None:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            return
        self._send_csv(reply.csv, reply)

    def _send_csv(self, body: CsvBody | FileBody, reply: Reply) -> None:
        config = self.app.config
        chunked = config.framing == "chunked"
        if config.framing == "content-length":
            self.send_header("Content-Length", str(reply.csv_length))
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")  # also sets self.close_connection
        self.end_headers()
        budget = reply.drop_after
        try:
            for piece in body.chunks(config.chunk_size):
                chunk = piece if budget is None else piece[:budget]
                if chunk:
                    self._write(chunk, chunked=chunked)
                    if config.download_pause_seconds:
                        time.sleep(config.download_pause_seconds)
                if budget is not None:
                    budget -= len(chunk)
                    if budget <= 0:
                        break
            if budget is not None:
                self._abort()
            elif chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _write(self, chunk: bytes, *, chunked: bool) -> None:
        if chunked:
            self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
        else:
            self.wfile.write(chunk)

    def _abort(self) -> None:
        """Cut the connection mid-body (fault injection)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            return

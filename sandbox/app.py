"""The simulated Emarsys API: OAuth token endpoint and the /api/v2|v3 resources."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.auth import TokenStore, WsseVerifier, parse_basic
from sandbox.config import Faults, SandboxConfig
from sandbox.conformance import reply_problems, token_request_problems
from sandbox.contactlists import CONTACT_LISTS, in_contact_list
from sandbox.csvrender import CsvBody, CsvSpec, FileBody
from sandbox.dataset import Dataset, Registration
from sandbox.exports import ExportJob, ExportStore
from sandbox.fields import LANGUAGES, all_fields
from sandbox.filecache import FileCache
from sandbox.paging import json_page_reply, paged_reply, requested_page
from sandbox.ratelimit import TOO_MANY_REQUESTS, TOO_MANY_REQUESTS_CODE, RateLimiter
from sandbox.replies import CSV_TYPE, ApiError, Reply, envelope, ok, plain_json
from sandbox.requestlog import RequestLog
from sandbox.tokenlimit import TokenFetchLimiter
from sandbox.upload import upload_when_due
from sandbox.validation import INVALID_LANGUAGE, INVALID_LANGUAGE_CODE, validate_registrations

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sandbox.requestlog import IncomingRequest

    Handler = Callable[[IncomingRequest, list[str]], Reply]


_SERVER_ERRORS = (
    (500, 1, "Database connection error"),
    (502, 1003, "Repeated unsuccessful queries are ignored for a period of time."),
    (503, 1003, "The system is overloaded for this resource."),
)
_REPLY_CODE_ERRORS = ((1003, "An internal error occurred."), (2011, "Internal error"))
# The reply schema (sandbox/contract.py) of each route's successful JSON reply.
_REPLY_KINDS = {
    "export.contact.registrations": "export.start",
    "export.status": "export.status",
    "field.list": "field.list",
    "field.get": "field.list",
}


class SandboxApp:
    """Stateful request handling for one sandbox server (shared by all handler threads)."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] | None = None) -> None:
        """Build dataset, credential stores, limiter and export store for ``config``.

        ``clock`` (epoch seconds, before ``clock_offset_seconds``) replaces the real clock
        for tokens, WSSE, rate limits and export progress, so that a test can share one
        virtual clock with the tap. Without it the sandbox runs on real time.
        """
        self.config = config
        self._clock = clock or time.time
        self.dataset = Dataset(config)
        self.faults = Faults()
        self._file_cache = (
            FileCache(config.file_cache_dir) if config.file_cache_dir is not None else None
        )
        self.fault_lock = threading.Lock()
        self._rng = random.Random(config.seed)
        self.tokens = TokenStore(config.token_ttl_seconds, self.now)
        self.token_limiter = TokenFetchLimiter(
            config.token_limit_per_minute, config.token_limit_per_hour, self.now
        )
        self.wsse = WsseVerifier(config.username, config.secret, self.now)
        limit = config.rate_limit_per_minute
        window = config.rate_limit_window_seconds
        self.limiter = RateLimiter(limit, window, self.now) if limit is not None else None
        self.exports = ExportStore(
            config.export_time, clock or time.monotonic, scope=config.export_scope
        )
        self.log = RequestLog()
        self.contract_violations: list[str] = []
        self._routes: list[tuple[tuple[str, ...], str, str, Handler]] = [
            (("field",), "GET", "field.get", self._fields),
            (("field", "translate", "*"), "GET", "field.list", self._fields),
            (("contactlist",), "GET", "contactlist.list", self._contact_lists),
            (
                ("contact", "getregistrations"),
                "POST",
                "export.contact.registrations",
                self._start_export,
            ),
            (("export", "*"), "GET", "export.status", self._export_status),
            (("export", "*", "data"), "GET", "export.download", self._export_data),
            (("export", "*", "data", "*"), "GET", "export.download", self._export_data),
        ]

    def now(self) -> float:
        """Return the server clock (real time plus the configured offset), epoch seconds."""
        return self._clock() + self.config.clock_offset_seconds

    def handle(self, request: IncomingRequest) -> Reply:
        """Answer one logged request (token endpoint, /api or unknown path)."""
        if request.path == self.config.token_path:
            return self._rate_limited(request, self._token)
        if request.path.startswith("/api/"):
            return self._rate_limited(request, self._api)
        return envelope(404, 1, "Not Found")

    def _rate_limited(
        self,
        request: IncomingRequest,
        handler: Callable[[IncomingRequest], Reply],
    ) -> Reply:
        decision = self.limiter.hit() if self.limiter is not None else None
        if decision is not None and not decision.allowed:
            reply = envelope(429, TOO_MANY_REQUESTS_CODE, TOO_MANY_REQUESTS)
        else:
            try:
                reply = handler(request)
            except ApiError as error:
                reply = error.reply()
        if decision is not None:
            reply.headers.update(decision.headers())
        return reply

    def _token(self, request: IncomingRequest) -> Reply:
        if request.method != "POST":
            return plain_json(405, {"error": "invalid_request"})
        with self.fault_lock:
            spent, down = self.faults.token_budget_spent, self.faults.token_endpoint_down
        if down:
            return plain_json(503, {"error": "temporarily_unavailable"})
        credentials = parse_basic(request.header("Authorization"))
        if credentials != (self.config.client_id, self.config.client_secret):
            reply = plain_json(401, {"error": "invalid_client"})
            reply.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
            return reply
        form = request.form_body() or {}
        if form.get("grant_type") != "client_credentials":
            return plain_json(400, {"error": "unsupported_grant_type"})
        if self.config.strict_contract and token_request_problems(
            form, request.header("Authorization")
        ):
            return plain_json(400, {"error": "invalid_request"})
        decision = self.token_limiter.hit(self.config.client_id, spent=spent)
        if not decision.allowed:
            reply = plain_json(429, decision.error_body())
            if self.config.token_retry_after:
                reply.headers["Retry-After"] = str(decision.retry_after)
            return reply
        return plain_json(
            200,
            {
                "access_token": self.tokens.issue(),
                "token_type": "bearer",
                "expires_in": int(self.config.token_ttl_seconds),
            },
        )

    def _api(self, request: IncomingRequest) -> Reply:
        self._inject_faults()
        _, _, rest = request.path.partition("/api/")
        version, _, resource = rest.partition("/")
        if version not in ("v2", "v3"):
            return envelope(404, 1, "Not Found")
        self._authenticate(version, request)
        parts = [p for p in resource.split("/") if p]
        matched = [r for r in self._routes if _matches(r[0], parts)]
        if not matched:
            return envelope(404, 1, "Not Found")
        route = next((r for r in matched if r[1] == request.method), None)
        if route is None:
            return envelope(501, 1009, "This feature has not been implemented yet.")
        _, _, permission, handler = route
        allowed = self.config.permissions
        if allowed is not None and permission not in allowed:
            text = f"Forbidden: the API user lacks the permission {permission}"
            return envelope(403, 1, text)
        with self.fault_lock:
            roll = self._rng.random() < self.faults.reply_code_error_rate
            code, text = self._rng.choice(_REPLY_CODE_ERRORS)
        if roll:
            return envelope(200, code, text)
        return self.checked_reply(permission, handler(request, parts))

    def checked_reply(self, permission: str, reply: Reply) -> Reply:
        """``reply``, or a 500 when it breaks its reply schema (``check_replies``)."""
        kind = _REPLY_KINDS.get(permission)
        if not self.config.check_replies or kind is None or reply.status != 200:
            return reply
        if reply.csv is not None or not reply.content_type.startswith("application/json"):
            return reply
        problems = reply_problems(kind, json.loads(reply.body))
        if not problems:
            return reply
        with self.fault_lock:
            self.contract_violations.extend(problems)
        return envelope(500, 1003, f"Sandbox reply breaks the contract: {problems[0]}")

    def _inject_faults(self) -> None:
        with self.fault_lock:
            faults = self.faults
            if faults.too_many_requests_burst > 0:
                faults.too_many_requests_burst -= 1
                reset = math.ceil(self.now() + faults.reset_after_seconds)
                limit = self.config.rate_limit_per_minute or 1000
                headers = {
                    "X-RateLimit-Limit": str(limit),
                    "X-Ratelimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                }
                raise ApiError(429, TOO_MANY_REQUESTS_CODE, TOO_MANY_REQUESTS, headers)
            if self._rng.random() < faults.error_rate_5xx:
                raise ApiError(*self._rng.choice(_SERVER_ERRORS))

    def _authenticate(self, version: str, request: IncomingRequest) -> None:
        if version == "v3":
            if not self.tokens.valid(request.header("Authorization")):
                raise ApiError(401, 1, "Unauthorized")
            return
        with self.fault_lock:
            retired = self.faults.wsse_retired
        if retired:
            raise ApiError(401, 1, "Unauthorized.")
        header = request.header("X-WSSE") or request.header("WSSE")
        problem = self.wsse.check(header)
        if problem is not None:
            raise ApiError(401, 1, problem)

    def _fields(self, request: IncomingRequest, parts: list[str]) -> Reply:
        del request
        language = parts[2] if parts[1:2] == ["translate"] else "en"
        if language not in LANGUAGES:
            raise ApiError(400, INVALID_LANGUAGE_CODE, INVALID_LANGUAGE)
        return ok([f.as_json(language) for f in all_fields()])

    def _contact_lists(self, request: IncomingRequest, parts: list[str]) -> Reply:
        del request, parts
        return ok(list(CONTACT_LISTS))

    def _start_export(self, request: IncomingRequest, parts: list[str]) -> Reply:
        del parts
        body: Any
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        export = validate_registrations(body, self.config)
        timed = self.config.export_time.counts_rows
        rows = self.dataset.count_local(export.start, export.end) if timed else 0
        job = self.exports.start(body, export, self.faults, self.now(), rows, owner=_owner(request))
        form = self.config.export_id_form
        return ok({"id": str(job.id) if form == "string" else job.id})

    def _export_status(self, request: IncomingRequest, parts: list[str]) -> Reply:
        job = self.exports.get(parts[1], _owner(request))
        if job.awaiting_upload(self.faults):  # ftp/sftp: done once the file is uploaded
            upload_when_due(job, lambda: self._file_body(job), self.config)
        data = job.status_data(self.faults)
        if data["status"] == "in progress":
            data["status"] = self.config.in_progress_spelling
        data["type"] = self.config.status_type
        if self.config.export_id_form == "integer":
            data["id"] = job.id
        return ok(data)

    def _export_data(self, request: IncomingRequest, parts: list[str]) -> Reply:
        page = requested_page(request, parts[3] if len(parts) > 3 else None, self.config)
        job = self.exports.get(parts[1], _owner(request))
        if job.request.distribution_method != "local":
            raise ApiError(404, 4004, '"distribution_method" of this export is not compatible.')
        status = job.status(self.faults)
        if status == "error":
            raise ApiError(404, 4006, "Internal error occurred. File was not found.")
        if status != "done":
            raise ApiError(
                404,
                4005,
                "Export is currently in progress. Please wait until that has finished.",
            )
        if job.expired(self.config.export_expiry_seconds, self.faults):
            raise ApiError(410, 4003, "Exported data is not available.")
        json_answer = page.limit is not None and self.config.limit_answers_json
        if json_answer or self.config.data_answers_json:
            whole = self._file_body(job, cache=False)
            assert isinstance(whole, CsvBody)
            return json_page_reply(whole, page, self.config)
        if page.is_whole() and self.config.download_row_cap is None:
            body = self._file_body(job)
            reply = Reply(200, content_type=CSV_TYPE, csv=body)
            if self.config.framing == "content-length":
                if job.content_length is None:
                    job.content_length = body.length()
                reply.csv_length = job.content_length
        else:
            whole = self._file_body(job, cache=False)
            assert isinstance(whole, CsvBody)
            reply = paged_reply(whole, page, self.config)
        reply.drop_after = self._take_drop()
        return reply

    def _file_body(self, job: ExportJob, *, cache: bool = True) -> CsvBody | FileBody:
        """The export's file, as served by /data or uploaded to the user's server."""
        export, cfg = job.request, self.config
        spec = CsvSpec(
            field_ids=export.field_ids,
            delimiter=export.delimiter,
            with_timestamp=export.with_timestamp,
            header=export.header,
            language=export.language,
            bom=cfg.bom,
            crlf=cfg.crlf,
            corruption=self.faults.corrupt_csv,
        )
        dataset = self.dataset
        faults, export_id = self.faults, job.id
        shuffle = faults.shuffle_rows
        omit = faults.omit_first_row_with_field in export.field_ids
        contact_list = export.contactlist

        def rows() -> Iterable[Registration]:
            selected = dataset.select_local(export.start, export.end, cfg.bounds)
            if contact_list is not None:
                selected = (r for r in selected if in_contact_list(contact_list, r.user_id))
            if shuffle:
                listed = list(selected)
                random.Random(export_id).shuffle(listed)
                selected = iter(listed)
            if omit:
                next(iter(selected), None)
            return selected

        rendered = CsvBody(rows, spec)
        if cache and self._file_cache is not None and not (shuffle or omit):
            return self._file_cache.body(rendered, job.body)
        return rendered

    def _take_drop(self) -> int | None:
        with self.fault_lock:
            faults = self.faults
            drop = faults.drop_download_after_bytes
            if drop is not None and faults.drop_download_count > 0:
                faults.drop_download_count -= 1
                if faults.drop_download_count == 0:
                    faults.drop_download_after_bytes = None
            return drop


def _owner(request: IncomingRequest) -> str:
    """The credential kind behind an authenticated /api request: ``v2`` (WSSE) or ``v3``."""
    return request.path.removeprefix("/api/").partition("/")[0]


def _matches(pattern: tuple[str, ...], parts: list[str]) -> bool:
    return len(pattern) == len(parts) and all(
        p in ("*", part) for p, part in zip(pattern, parts, strict=True)
    )

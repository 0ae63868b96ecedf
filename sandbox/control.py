"""The unauthenticated, unlogged ``/_sandbox/*`` control endpoints."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.replies import Reply, plain_json
from sandbox.values import render_value

if TYPE_CHECKING:
    from sandbox.app import SandboxApp
    from sandbox.requestlog import IncomingRequest

PREFIX = "/_sandbox"


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _truth(app: SandboxApp, query: dict[str, str]) -> Reply:
    try:
        start, end = _instant(query["start"]), _instant(query["end"])
        wanted = [int(f) for f in query.get("fields", "").split(",") if f.strip()]
    except (KeyError, ValueError) as error:
        return plain_json(400, {"error": f"bad truth query: {error}"})
    rows = []
    for row in app.dataset.truth(start, end):
        ids = wanted or sorted(row.values)
        rows.append(
            {
                "user_id": row.user_id,
                "registered_at": row.registered_at.isoformat().replace("+00:00", "Z"),
                "local_time": row.local_time.isoformat(sep=" "),
                "values": {str(fid): render_value(row.values.get(fid)) for fid in ids},
            }
        )
    return plain_json(200, rows)


def _exports(app: SandboxApp) -> list[dict[str, Any]]:
    infos = [job.info(app.faults) for job in app.exports.jobs()]
    return [{**dataclasses.asdict(info), "created": info.created.isoformat()} for info in infos]


def _set_faults(app: SandboxApp, body: bytes) -> Reply:
    try:
        changes = json.loads(body or b"{}")
    except ValueError as error:
        return plain_json(400, {"error": str(error)})
    if not isinstance(changes, dict):
        return plain_json(400, {"error": "expected a JSON object"})
    try:
        with app.fault_lock:
            app.faults.update(changes)
    except ValueError as error:
        return plain_json(400, {"error": str(error)})
    return plain_json(200, dataclasses.asdict(app.faults))


def handle_control(app: SandboxApp, request: IncomingRequest) -> Reply:
    """Answer a ``/_sandbox/...`` request (health, request log, tokens, truth, exports, faults)."""
    route = (request.method, request.path.removeprefix(PREFIX).rstrip("/"))
    if route == ("GET", "/health"):
        return plain_json(200, {"status": "ok"})
    if route == ("GET", "/requests"):
        return plain_json(200, [entry.as_json() for entry in app.log.snapshot()])
    if route == ("POST", "/requests/clear"):
        app.log.clear()
        return plain_json(200, {"cleared": True})
    if route == ("POST", "/tokens/revoke"):
        return plain_json(200, {"revoked": app.tokens.revoke_all()})
    if route == ("GET", "/truth"):
        return _truth(app, request.query)
    if route == ("GET", "/exports"):
        return plain_json(200, _exports(app))
    if route == ("GET", "/faults"):
        return plain_json(200, dataclasses.asdict(app.faults))
    if route == ("POST", "/faults"):
        return _set_faults(app, request.body)
    return plain_json(404, {"error": "unknown sandbox control endpoint"})

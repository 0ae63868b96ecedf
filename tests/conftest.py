"""Shared harness: a real sandbox on loopback, tap configs, and in-process runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.tap import DEFAULT_CAPS, TapEmarsysRegistrations
from tests.clocks import FAST_CLOCK

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.delivery.row_count import RowCaps

# tests/process_guard.py: a test that starts a process must be marked slow.
pytest_plugins = ["pytester", "tests.process_guard"]

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
FIELDS = [1, 2, 3, "loyalty_points", 5002, 5003, 14, 31]


def pytest_report_header() -> str:
    """Name the local zone: scripts/test.sh runs the fast tier in several."""
    return f"local zone: TZ={os.environ.get('TZ', '(unset)')}, now {time.strftime('%Z (%z)')}"


@dataclass
class Run:
    """The Singer messages of one tap run, and the error it ended with, if any."""

    messages: list[dict[str, Any]]
    error: BaseException | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.records = [m["record"] for m in self.messages if m["type"] == "RECORD"]
        self.states = [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    @property
    def bookmark(self) -> str | None:
        value = self.last_state.get("bookmarks", {}).get("registrations", {})
        return value.get("replication_key_value")  # type: ignore[no-any-return]


def tap_config(sb: Sandbox, *, auth: str = "oauth", **overrides: Any) -> dict[str, Any]:
    cfg = sb.config
    config: dict[str, Any] = {
        "api_url": sb.api_url,
        "start_date": cfg.start.isoformat(),
        "end_date": (cfg.start + dt.timedelta(days=cfg.days)).isoformat(),
        "poll_interval_seconds": 0.02,
        "poll_interval_max_seconds": 0.1,
        "export_timeout_seconds": 20,
        "contact_fields": FIELDS,
    }
    if auth == "oauth":
        config |= {
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "token_url": sb.token_url,
        }
    else:
        config |= {"username": cfg.username, "secret": cfg.secret}
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    clock: Clock = FAST_CLOCK,
    row_caps: RowCaps = DEFAULT_CAPS,
) -> Run:
    """Run a sync in-process; a failure is returned, not raised, with the messages so far."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")  # the tap writes to stdout.buffer
    error: BaseException | None = None
    with contextlib.redirect_stdout(out):
        try:
            TapEmarsysRegistrations(
                config=config, state=state, catalog=catalog, clock=clock, row_caps=row_caps
            ).sync_all()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            error = exc
        out.flush()
    lines = raw.getvalue().decode().splitlines()
    return Run([json.loads(line, parse_float=Decimal) for line in lines if line], error)


def expected_keys(sb: Sandbox, start: dt.datetime, end: dt.datetime) -> list[tuple[int, str]]:
    """(user_id, registered_at) of the truth, as the export can show it.

    A wall time in the repeated hour at the end of DST names two instants and
    the CSV carries nothing to tell them apart; the tap reads the first.
    """
    keys = []
    for row in sb.truth(start, end):
        first = row.local_time.replace(tzinfo=VIENNA, fold=0).astimezone(UTC)
        keys.append((row.user_id, first.isoformat(timespec="seconds")))
    return sorted(keys)


def record_keys(run: Run) -> list[tuple[int, str]]:
    return sorted((r["user_id"], r["registered_at"]) for r in run.records)


@pytest.fixture(autouse=True)
def token_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own OAuth token cache, shared by its in-process and CLI runs.

    The tap's default cache folder follows XDG_CACHE_HOME, which subprocesses inherit.
    """
    folder = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "tap-emarsys-registrations"


def shared_token_cache(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """One token cache for a whole module, for modules whose tests share one sandbox.

    Use it as a module-scoped autouse ``token_cache_home``: the module's runs then
    share the sandbox's token as runs on one machine would, instead of each test
    fetching its own from a sandbox that allows 2 a minute.
    """
    folder = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder / "tap-emarsys-registrations"


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox per test; parametrize indirectly with a dict of SandboxConfig fields."""
    overrides = getattr(request, "param", {}) or {}
    with Sandbox(SandboxConfig(days=3, per_day=25, **overrides)) as sb:
        yield sb

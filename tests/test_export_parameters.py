"""Every getregistrations parameter works through the tap against the sandbox."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from sandbox import Sandbox, SandboxConfig
from sandbox.contactlists import in_contact_list
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.clocks import FAST_CLOCK
from tests.conftest import (
    UTC,
    VIENNA,
    run_tap,
    shared_token_cache,
    tap_config,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FIELDS = [1, 2, 3, "loyalty_points", 5002, 5003, 5004, 14, 31, 35]


def _comparable(record: dict[str, Any], *, with_timestamp: bool) -> tuple[Any, ...]:
    copy = dict(record)
    if not with_timestamp:
        assert copy.pop("registered_at") is None
    else:
        copy.pop("registered_at")
    return tuple(sorted((k, str(v)) for k, v in copy.items()))


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's tests share one sandbox, so they share one token cache too."""
    yield from shared_token_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with Sandbox(SandboxConfig(days=2, per_day=25)) as sb:
        yield sb


@pytest.fixture(scope="module")
def baseline(sandbox: Sandbox) -> list[tuple[Any, ...]]:
    run = run_tap(tap_config(sandbox, contact_fields=FIELDS, window_hours=48))
    assert run.error is None
    assert len(run.records) == len(
        sandbox.truth(sandbox.config.start, sandbox.config.start + dt.timedelta(days=2))
    )
    return sorted(_comparable(r, with_timestamp=True) for r in run.records)


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("with_timestamp", [True, False])
@pytest.mark.parametrize("language", ["en", "de"])
def test_every_layout_yields_the_same_records(
    sandbox: Sandbox,
    baseline: list[tuple[Any, ...]],
    delimiter: str,
    header: bool,
    with_timestamp: bool,
    language: str,
) -> None:
    config = tap_config(
        sandbox,
        contact_fields=FIELDS,
        window_hours=48,  # one window: without timestamps rows cannot be cut at edges
        delimiter=delimiter,
        add_field_names_header=header,
        with_timestamp=with_timestamp,
        language=language,
    )
    sandbox.clear_requests()
    run = run_tap(config)
    assert run.error is None
    body = next(
        e.json_body for e in sandbox.requests if e.path.endswith("/contact/getregistrations")
    )
    assert isinstance(body, dict)
    assert (
        body["delimiter"],
        body["add_field_names_header"],
        body["with_timestamp"],
        body["language"],
    ) == (
        delimiter,
        int(header),
        int(with_timestamp),
        language,
    )
    # Without timestamps registered_at is null (checked in _comparable); all else is equal.
    records = sorted(_comparable(r, with_timestamp=with_timestamp) for r in run.records)
    assert records == baseline


def test_contactlist_restricts_the_export(sandbox: Sandbox) -> None:
    run = run_tap(tap_config(sandbox, contactlist=700000001, window_hours=24))
    assert run.error is None
    end = sandbox.config.start + dt.timedelta(days=2)
    expected = sorted(
        (r.user_id, r.local_time.replace(tzinfo=VIENNA, fold=0).astimezone(UTC).isoformat())
        for r in sandbox.truth(sandbox.config.start, end)
        if in_contact_list(700000001, r.user_id)
    )
    assert sorted((r["user_id"], r["registered_at"]) for r in run.records) == expected
    assert 0 < len(expected) < len(sandbox.truth(sandbox.config.start, end))


def test_unknown_contactlist_is_refused_before_any_export(sandbox: Sandbox) -> None:
    sandbox.clear_requests()
    with pytest.raises(ConfigValidationError, match="contactlist"):
        TapEmarsysRegistrations(config=tap_config(sandbox, contactlist=123), clock=FAST_CLOCK)
    assert [e.path for e in sandbox.requests if e.method == "POST" and "/api/" in e.path] == []
    assert any(e.path.endswith("/contactlist") for e in sandbox.requests)


def test_notification_url_is_passed_through_and_the_tap_still_polls(sandbox: Sandbox) -> None:
    sandbox.clear_requests()
    url = "https://hooks.example.com/emarsys-export-ready"
    run = run_tap(tap_config(sandbox, notification_url=url, window_hours=48))
    assert run.error is None
    posts = [e.json_body for e in sandbox.requests if e.path.endswith("/contact/getregistrations")]
    assert posts
    assert all(isinstance(p, dict) and p["notification_url"] == url for p in posts)
    assert any("/export/" in e.path and not e.path.endswith("/data") for e in sandbox.requests)

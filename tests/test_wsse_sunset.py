"""The end of WSSE (2026-12-31): the warning before it, the error after it, OAuth unaffected.

Every run here has its date injected: the tap's clock and the sandbox's clock are
shifted together to a chosen instant, so WSSE's 5-minute time frame and token
lifetimes hold, and the outcome does not depend on the day the suite runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.clock import Clock
from tap_emarsys_registrations.emarsys.unauthorized import unauthorized_error
from tap_emarsys_registrations.emarsys.wsse_sunset import (
    days_left,
    is_past_sunset,
    retired_message,
    sunset_warning,
)
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportTimeoutError,
    WsseRetiredError,
    join_sentences,
)
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.clocks import VirtualClock
from tests.conftest import expected_keys, record_keys, run_tap, tap_config
from tests.test_sandbox import Api

if TYPE_CHECKING:
    from collections.abc import Callable

UTC = dt.UTC
BEFORE = dt.datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
AFTER = dt.datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
README_SECTION = 'README "Moving from WSSE to OAuth"'


def shifted_to(moment: dt.datetime) -> tuple[Clock, Callable[[], float]]:
    """A tap clock and a sandbox clock that both read ``moment`` now and then tick."""
    offset = moment.timestamp() - time.time()
    return (
        Clock(
            time=lambda: time.time() + offset,
            sleep=lambda seconds: time.sleep(min(seconds, 0.05)),
        ),
        lambda: time.time() + offset,
    )


def wsse_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "WSSE" in r.getMessage()
    ]


# --- the dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "left", "past"),
    [
        pytest.param(BEFORE, 27, False, id="2026-12-04"),
        pytest.param(dt.datetime(2026, 12, 30, 22, 59, tzinfo=UTC), 1, False, id="30th-vienna"),
        pytest.param(dt.datetime(2026, 12, 30, 23, 0, tzinfo=UTC), 0, False, id="31st-vienna"),
        pytest.param(dt.datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC), 0, False, id="last-sec"),
        pytest.param(dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC), -1, True, id="sunset"),
        pytest.param(AFTER, -5, True, id="2027-01-05"),
    ],
)
def test_the_sunset_is_the_end_of_2026_12_31_in_vienna(
    moment: dt.datetime, left: int, past: bool
) -> None:
    assert days_left(moment) == left
    assert is_past_sunset(moment) is past


@pytest.mark.parametrize(
    ("moment", "when"),
    [
        pytest.param(BEFORE, "in 27 days", id="weeks"),
        pytest.param(dt.datetime(2026, 12, 30, 12, tzinfo=UTC), "tomorrow", id="tomorrow"),
        pytest.param(dt.datetime(2026, 12, 31, 12, tzinfo=UTC), "today", id="today"),
    ],
)
def test_the_warning_counts_the_days_and_names_what_to_set(moment: dt.datetime, when: str) -> None:
    line = sunset_warning(moment)
    assert f"at the end of 2026-12-31, {when}." in line
    for setting in ("client_id", "client_secret", "token_url", "username and secret"):
        assert setting in line
    assert README_SECTION in line
    assert "\n" not in line


def test_the_warning_after_the_date_says_wsse_may_stop_at_any_moment() -> None:
    line = sunset_warning(AFTER)
    assert "retired WSSE" in line
    assert "may refuse it at any moment" in line
    assert "client_id" in line
    assert "days" not in line


def test_the_retirement_line_gives_the_cause_the_fix_and_emarsys_words() -> None:
    line = retired_message("field/translate", 401, 1, "Unauthorized.")
    assert line.startswith(
        "Emarsys refused WSSE authentication on field/translate "
        "(HTTP 401, replyCode 1: Unauthorized.) because it retired WSSE"
    )
    assert "on 2026-12-31" in line
    assert "set client_id and client_secret" in line
    assert "remove username and secret" in line
    assert line.endswith(README_SECTION)


# --- what a 401 means -------------------------------------------------------------------


def _unauthorized(*, oauth: bool, now: dt.datetime, text: str) -> EmarsysAPIError:
    return unauthorized_error(
        oauth=oauth,
        now=now,
        endpoint="field/translate",
        reply_code=1,
        text=text,
        server_date="Tue, 05 Jan 2027 12:00:00 GMT",
    )


def test_a_wsse_401_after_the_date_is_the_retirement() -> None:
    error = _unauthorized(oauth=False, now=AFTER, text="Unauthorized.")
    assert isinstance(error, WsseRetiredError)
    assert error.status == 401
    assert "retired WSSE" in str(error)


def test_a_wsse_401_before_the_date_points_at_the_credentials() -> None:
    error = _unauthorized(oauth=False, now=BEFORE, text="Unauthorized")
    assert not isinstance(error, WsseRetiredError)
    assert str(error).endswith("Unauthorized. Check username and secret")


def test_a_clock_refusal_after_the_date_still_points_at_the_clock() -> None:
    error = _unauthorized(oauth=False, now=AFTER, text="Unauthorized Time frame is invalid")
    assert not isinstance(error, WsseRetiredError)
    assert "Tue, 05 Jan 2027 12:00:00 GMT" in str(error)
    assert "Check the clock (NTP)" in str(error)


def test_an_oauth_401_after_the_date_is_about_the_oauth_credential() -> None:
    error = _unauthorized(oauth=True, now=AFTER, text="Unauthorized")
    assert not isinstance(error, WsseRetiredError)
    assert "Check client_id and client_secret" in str(error)
    assert "WSSE" not in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Unauthorized.", "(HTTP 401, replyCode 1): Unauthorized. Check it", id="dot"),
        pytest.param("Unauthorized", "(HTTP 401, replyCode 1): Unauthorized. Check it", id="bare"),
        pytest.param("Really?", "(HTTP 401, replyCode 1): Really? Check it", id="question"),
        pytest.param("Unauthorized. ", "(HTTP 401, replyCode 1): Unauthorized. Check it", id="sp"),
        pytest.param("", "(HTTP 401, replyCode 1). Check it", id="empty"),
    ],
)
def test_emarsys_text_and_the_hint_never_double_the_full_stop(text: str, expected: str) -> None:
    error = EmarsysAPIError(
        status=401, reply_code=1, reply_text=text, endpoint="field", hint="Check it"
    )
    assert str(error) == f"Emarsys field failed {expected}"
    assert ".." not in str(error)


def test_join_sentences() -> None:
    assert join_sentences("A.", "B") == "A. B"
    assert join_sentences("A", "B") == "A. B"
    assert join_sentences("A! ", "B") == "A! B"
    assert join_sentences("", "B") == "B"


# --- runs against the sandbox on a shifted clock ----------------------------------------


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        pytest.param(BEFORE, "in 27 days", id="before"),
        # Emarsys may keep WSSE after the date: it keeps working, with the warning.
        pytest.param(AFTER, "may refuse it at any moment", id="after-still-working"),
    ],
)
def test_a_working_wsse_sync_warns_once_and_exports_everything(
    caplog: pytest.LogCaptureFixture, moment: dt.datetime, said: str
) -> None:
    clock, server = shifted_to(moment)
    with Sandbox(SandboxConfig(days=1, per_day=15), clock=server) as sb:
        caplog.set_level(logging.INFO)
        run = run_tap(tap_config(sb, auth="wsse"), clock=clock)
        assert run.error is None
        start, end = sb.config.start, sb.config.start + dt.timedelta(days=1)
        assert record_keys(run) == expected_keys(sb, start, end)
        [line] = wsse_warnings(caplog)
        assert said in line
        assert "client_id" in line
        assert all(e.path.startswith("/api/v2/") for e in sb.requests)


def test_discovery_and_the_connection_test_warn_once_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, server = shifted_to(BEFORE)
    with Sandbox(SandboxConfig(days=1, per_day=5), clock=server) as sb:
        caplog.set_level(logging.INFO)
        config = tap_config(sb, auth="wsse")
        tap = TapEmarsysRegistrations(config=config, clock=clock)
        assert tap.catalog_dict["streams"]
        assert len(wsse_warnings(caplog)) == 1
        caplog.clear()
        checker = TapEmarsysRegistrations(config=config, clock=clock, setup_mapper=False)
        assert checker.run_connection_test() is True
        assert len(wsse_warnings(caplog)) == 1


def test_after_the_date_a_refused_wsse_request_explains_the_retirement() -> None:
    clock, server = shifted_to(AFTER)
    with Sandbox(SandboxConfig(days=1, per_day=5), clock=server) as sb:
        sb.faults.wsse_retired = True
        run = run_tap(tap_config(sb, auth="wsse"), clock=clock)
        assert isinstance(run.error, WsseRetiredError)
        message = str(run.error)
        assert "retired WSSE (API v2 authentication) on 2026-12-31" in message
        assert "set client_id and client_secret" in message
        assert README_SECTION in message
        assert "Check username and secret" not in message
        assert run.records == []
        assert run.bookmark is None
        assert [(e.method, e.status) for e in sb.requests] == [("GET", 401)]
        assert not [e for e in sb.requests if "getregistrations" in e.path]


def test_after_the_date_the_connection_test_stops_on_the_retirement() -> None:
    clock, server = shifted_to(AFTER)
    with Sandbox(SandboxConfig(days=1, per_day=5), clock=server) as sb:
        sb.faults.wsse_retired = True
        checker = TapEmarsysRegistrations(
            config=tap_config(sb, auth="wsse"), clock=clock, setup_mapper=False
        )
        with pytest.raises(WsseRetiredError, match="client_id"):
            checker.run_connection_test()
        assert len(sb.requests) == 1


def test_oauth_after_the_date_is_unaffected(caplog: pytest.LogCaptureFixture) -> None:
    clock, server = shifted_to(AFTER)
    with Sandbox(SandboxConfig(days=1, per_day=10), clock=server) as sb:
        sb.faults.wsse_retired = True
        caplog.set_level(logging.INFO)
        run = run_tap(tap_config(sb), clock=clock)
        assert run.error is None
        start, end = sb.config.start, sb.config.start + dt.timedelta(days=1)
        assert record_keys(run) == expected_keys(sb, start, end)
        assert wsse_warnings(caplog) == []
        assert all(e.path.startswith(("/api/v3/", "/oauth2/")) for e in sb.requests)


# --- moving a project from WSSE to OAuth mid-window -------------------------------------


@pytest.mark.parametrize("scope", ["account", "credential"])
def test_an_export_saved_by_a_wsse_run_is_finished_by_an_oauth_run(scope: str) -> None:
    """STATE carries over: the bookmark as it is, and the saved export where Emarsys allows.

    Whether an export started through WSSE (v2) can be polled with OAuth (v3) is not
    documented. ``account``: it can, and the OAuth run downloads it. ``credential``:
    Emarsys answers as for an unknown id, and the OAuth run exports the window again.
    """
    virtual = VirtualClock()
    config = SandboxConfig(days=1, per_day=25, export_delay_seconds=15, export_scope=scope)
    with Sandbox(config, clock=virtual.time) as sb:
        wsse = tap_config(sb, auth="wsse", export_timeout_seconds=3, poll_interval_seconds=0.5)
        first = run_tap(wsse, clock=virtual.clock())
        assert isinstance(first.error, ExportTimeoutError)
        pending = first.last_state["bookmarks"]["registrations"]["pending_exports"]
        [saved] = [entry["id"] for entry in pending.values()]
        [started] = sb.export_jobs
        assert started.id == saved
        sb.faults.wsse_retired = True  # from here on only OAuth gets in
        sb.clear_requests()
        oauth = tap_config(sb, export_timeout_seconds=60, poll_interval_seconds=0.5)
        second = run_tap(oauth, state=first.last_state, clock=virtual.clock())
        assert second.error is None
        start, end = sb.config.start, sb.config.start + dt.timedelta(days=1)
        assert record_keys(second) == expected_keys(sb, start, end)
        assert len(set(record_keys(second))) == len(second.records)
        assert second.bookmark == end.isoformat()
        assert not [e for e in sb.requests if e.path.startswith("/api/v2/")]
        posts = [e for e in sb.requests if e.path.endswith("getregistrations")]
        downloads = [e.path for e in sb.requests if e.path.endswith("/data")]
        if scope == "account":
            assert posts == [], "the saved export was reused, not started again"
            assert downloads == [f"/api/v3/export/{saved}/data"]
        else:
            refused = [e for e in sb.requests if e.path == f"/api/v3/export/{saved}"]
            assert [(e.status, e.reply_code) for e in refused] == [(400, 10001)]
            assert len(posts) == 1
            [again] = [job for job in sb.export_jobs if job.id != saved]
            assert downloads == [f"/api/v3/export/{again.id}/data"]


# --- the sandbox's switches -------------------------------------------------------------


def test_sandbox_with_wsse_retired_refuses_a_valid_wsse_header_but_not_oauth() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        v2, v3 = Api(sb, "v2"), Api(sb, "v3")
        assert v2.call("GET", "field").json()["replyCode"] == 0
        sb.faults.wsse_retired = True
        refused = v2.call("GET", "field")
        assert refused.status_code == 401
        assert refused.json() == {"replyCode": 1, "replyText": "Unauthorized.", "data": ""}
        assert v3.call("GET", "field").json()["replyCode"] == 0


@pytest.mark.parametrize(("scope", "visible"), [("account", True), ("credential", False)])
def test_sandbox_export_scope_decides_who_can_poll_an_export(scope: str, visible: bool) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5, export_scope=scope)) as sb:
        v2, v3 = Api(sb, "v2"), Api(sb, "v3")
        export_id = v2.export()
        assert v2.call("GET", f"export/{export_id}").status_code == 200
        reply = v3.call("GET", f"export/{export_id}")
        if visible:
            assert reply.json()["data"]["id"] == str(export_id)
        else:
            assert reply.status_code == 400
            assert reply.json()["replyCode"] == 10001
            assert reply.json()["replyText"] == "Invalid export ID"
            assert v3.call("GET", f"export/{export_id}/data").status_code == 400

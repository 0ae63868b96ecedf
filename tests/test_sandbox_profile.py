"""The sandbox's registration profiles (campaign bursts) and its export-time model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import Dataset, Sandbox, SandboxConfig
from sandbox.__main__ import build_parser, config_from_args
from sandbox.profile import Burst, ExportTime, rate_on
from tests.clocks import VirtualClock

START = datetime(2025, 1, 1, tzinfo=UTC)
BURST = Burst(date(2025, 1, 3), 2, 960)
CONFIG = SandboxConfig(start=START, days=6, per_day=10, bursts=(BURST,))
DATASET = Dataset(CONFIG)
CREDS = ("sandbox-client", "sandbox-client-secret")


def day_rows(day: int) -> int:
    begin = START + timedelta(days=day)
    return len(DATASET.truth(begin, begin + timedelta(days=1)))


def test_burst_days_hold_the_burst_rate_and_other_days_the_base_rate() -> None:
    counts = [day_rows(day) for day in range(6)]
    specials = [
        DATASET.count(START + timedelta(days=d), START + timedelta(days=d + 1)) for d in range(6)
    ]
    assert counts == specials  # count() agrees with what is generated
    # Day 0 holds the 24 hourly specials (two of them the same repeat contact) and
    # every day one local-midnight registration of a repeat contact.
    assert counts[2] - 1 == counts[3] - 1 == 960
    assert counts[1] - 1 == counts[4] - 1 == counts[5] - 1 == 10
    assert counts[0] == 10 + 24 + 1


def test_rate_on_takes_the_last_burst_covering_the_day() -> None:
    later = Burst(date(2025, 1, 4), 1, 5)
    assert rate_on(date(2025, 1, 2), 10, (BURST, later)) == 10
    assert rate_on(date(2025, 1, 3), 10, (BURST, later)) == 960
    assert rate_on(date(2025, 1, 4), 10, (BURST, later)) == 5
    assert rate_on(date(2025, 1, 5), 10, (BURST, later)) == 10


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=-3_600, max_value=7 * 86_400),
    st.integers(min_value=0, max_value=4 * 86_400),
)
def test_count_equals_the_generated_rows_of_any_range(offset: int, length: int) -> None:
    low = START + timedelta(seconds=offset)
    high = low + timedelta(seconds=length)
    assert DATASET.count(low, high) == len(DATASET.truth(low, high))


@pytest.mark.parametrize(
    ("text", "burst"),
    [("2025-03-01:31:20000", Burst(date(2025, 3, 1), 31, 20_000))],
)
def test_burst_parses_from_its_cli_form(text: str, burst: Burst) -> None:
    assert Burst.parse(text) == burst


@pytest.mark.parametrize("text", ["2025-03-01:0:5", "2025-03-01:3", "03/01/2025:3:5", "x:1:-1"])
def test_bad_bursts_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(ValueError, match="burst"):
        Burst.parse(text)


def test_cli_options_fill_the_profile_and_the_export_time_model() -> None:
    args = build_parser().parse_args(
        [
            "--burst",
            "2025-03-01:31:20000",
            "--burst",
            "2025-11-20:4:5000",
            "--export-delay",
            "120",
            "--export-seconds-per-1000-rows",
            "1.5",
        ]
    )
    config = config_from_args(args)
    assert config.bursts == (
        Burst(date(2025, 3, 1), 31, 20_000),
        Burst(date(2025, 11, 20), 4, 5000),
    )
    assert config.export_time == ExportTime(120.0, 1.5)
    assert config.export_time.seconds(2000) == pytest.approx(123.0)


def test_negative_export_times_are_refused() -> None:
    with pytest.raises(ValueError, match="per thousand"):
        SandboxConfig(export_seconds_per_thousand_rows=-1)


def _status(sandbox: Sandbox, session: requests.Session, export_id: int) -> str:
    reply = session.get(f"{sandbox.api_url}/v3/export/{export_id}")
    status = reply.json()["data"]["status"]
    assert isinstance(status, str)
    return status


@pytest.mark.parametrize(("per_thousand", "expected"), [(0.0, 120.0), (2.0, 120.0 + 2 * 1.922)])
def test_an_export_takes_its_overhead_plus_its_rows_on_the_virtual_clock(
    per_thousand: float, expected: float
) -> None:
    """Two burst days (1,920 random and 2 midnight rows) on the sandbox clock."""
    virtual = VirtualClock()
    config = SandboxConfig(
        start=START,
        days=6,
        per_day=10,
        bursts=(BURST,),
        export_delay_seconds=120,
        export_seconds_per_thousand_rows=per_thousand,
    )
    with Sandbox(config, clock=virtual.time) as sandbox, requests.Session() as session:
        token = session.post(
            sandbox.token_url, auth=CREDS, data={"grant_type": "client_credentials"}
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {
            "distribution_method": "local",
            "time_range": ["2025-01-03 01:00:00", "2025-01-05 00:59:59"],  # Vienna = UTC+1
            "contact_fields": [1, 3],
        }
        reply = session.post(f"{sandbox.api_url}/v3/contact/getregistrations", json=body)
        export_id = reply.json()["data"]["id"]
        low, high = (datetime.fromisoformat(t) for t in body["time_range"])
        rows = sandbox.dataset.count_local(low, high)
        assert rows == 1922
        virtual.sleep(expected - 0.5)
        assert _status(sandbox, session, export_id) != "done"
        virtual.sleep(1.0)
        assert _status(sandbox, session, export_id) == "done"

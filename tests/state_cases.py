"""The STATE shapes and the run configuration shared by the STATE-input tests."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tests.conftest import tap_config

if TYPE_CHECKING:
    from sandbox import Sandbox

START = dt.datetime(2024, 3, 29, tzinfo=dt.UTC)
END = START + dt.timedelta(days=3)
DAY_2 = "2024-03-30T00:00:00+00:00"


def stream_state(**entry: Any) -> dict[str, Any]:
    """A STATE whose registrations bookmark holds ``entry``."""
    return {"bookmarks": {"registrations": {"replication_key": "window_start", **entry}}}


def pending_state(value: object) -> dict[str, Any]:
    """A STATE bookmarked at day 2 with ``value`` as its ``pending_exports``."""
    return stream_state(replication_key_value=DAY_2, pending_exports=value)


def three_days(sb: Sandbox) -> dict[str, Any]:
    """The config of a run over the sandbox's three days, one window a day."""
    return tap_config(sb, window_hours=24, start_date=START.isoformat(), end_date=END.isoformat())

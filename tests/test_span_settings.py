"""max_window_hours and target_rows_per_export: defaults, merging off, existing configs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tap_emarsys_registrations.extraction.spans import SpanPolicy
from tap_emarsys_registrations.settings.tap_settings import Settings

BASE = {"start_date": "2024-01-01", "client_id": "id", "client_secret": "secret"}


def parsed(**overrides: Any) -> Settings:
    return Settings.from_config({**BASE, **overrides})


def merged_windows(settings: Settings, *, with_timestamp: bool = True) -> int:
    return SpanPolicy.build(
        window=settings.window,
        max_window=settings.max_window,
        target_rows=settings.target_rows_per_export,
        with_timestamp=with_timestamp,
    ).max_windows


def test_defaults_merge_up_to_31_days_of_250000_rows() -> None:
    settings = parsed()
    assert settings.max_window == dt.timedelta(hours=744)
    assert settings.target_rows_per_export == 250_000
    assert merged_windows(settings) == 31


def test_max_window_hours_equal_to_window_hours_turns_merging_off() -> None:
    assert merged_windows(parsed(window_hours=6, max_window_hours=6)) == 1


def test_a_span_holds_the_whole_windows_that_fit() -> None:
    assert merged_windows(parsed(window_hours=24, max_window_hours=100)) == 4


def test_without_timestamps_nothing_is_merged() -> None:
    assert merged_windows(parsed(), with_timestamp=False) == 1


@pytest.mark.parametrize("hours", [1000, "2000"])
def test_an_existing_config_with_windows_over_744_hours_keeps_working(hours: Any) -> None:
    settings = parsed(window_hours=hours)
    assert settings.max_window == settings.window == dt.timedelta(hours=float(hours))
    assert merged_windows(settings) == 1


def test_numbers_from_the_environment_are_read() -> None:
    settings = parsed(max_window_hours="48", target_rows_per_export=10_000)
    assert settings.max_window == dt.timedelta(hours=48)
    assert merged_windows(settings) == 2

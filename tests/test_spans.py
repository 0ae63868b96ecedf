"""Export spans: merging grid windows, sizing from the rows seen, splitting failed spans."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_emarsys_registrations.extraction.spans import (
    EMPTY_GROWTH,
    MEMORY,
    Observation,
    Span,
    SpanPlanner,
    SpanPolicy,
    estimate_density,
    windows_for,
)
from tap_emarsys_registrations.windows import Window, plan_windows

UTC = dt.UTC
DAY = dt.timedelta(hours=24)
START = dt.datetime(2023, 1, 1, tzinfo=UTC)
TARGET = 250_000


def days(count: int, step: dt.timedelta = DAY) -> list[Window]:
    return plan_windows(START, START + count * step, step)


def policy(max_windows: int = 31, concurrency: int = 4, target: int = TARGET) -> SpanPolicy:
    return SpanPolicy(target_rows=target, max_windows=max_windows, concurrency=concurrency)


def observe(planner: SpanPlanner, span: Span, per_window: int) -> Observation:
    observation = Observation(span, tuple(per_window for _ in span.windows))
    planner.observe(observation)
    return observation


def drain(planner: SpanPlanner, rows: int) -> list[Span]:
    """Plan every span, reading each at once with ``rows`` per window."""
    spans = []
    while (span := planner.next_span()) is not None:
        spans.append(span)
        observe(planner, span, rows)
    return spans


# -- the policy from the settings ---------------------------------------------------------


@pytest.mark.parametrize(
    ("window_hours", "max_hours", "with_timestamp", "expected"),
    [
        (24, 744, True, 31),
        (24, 24, True, 1),  # max_window_hours == window_hours: merging off
        (24, 744, False, 1),  # no timestamps: rows cannot be placed in a window
        (24, 100, True, 4),  # only whole windows fit
        (6, 744, True, 124),
        (1000, 1000, True, 1),
    ],
)
def test_policy_spans_whole_windows_within_max_window_hours(
    window_hours: float, max_hours: float, with_timestamp: bool, expected: int
) -> None:
    built = SpanPolicy.build(
        window=dt.timedelta(hours=window_hours),
        max_window=dt.timedelta(hours=max_hours),
        target_rows=TARGET,
        with_timestamp=with_timestamp,
    )
    assert built.max_windows == expected
    assert built.merging is (expected > 1)


def test_policy_refuses_empty_targets() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        SpanPolicy(target_rows=0, max_windows=3)


# -- spans ------------------------------------------------------------------------------


def test_a_span_is_its_windows_end_to_end() -> None:
    span = Span(tuple(days(3)))
    assert span.window == Window(START, START + 3 * DAY)
    assert span.merged
    assert str(span) == "[2023-01-01T00:00:00+00:00, 2023-01-04T00:00:00+00:00)"
    with pytest.raises(ValueError, match="consecutive"):
        Span((days(3)[0], days(3)[2]))
    with pytest.raises(ValueError, match="at least one"):
        Span(())


def test_halves_split_at_a_grid_boundary_down_to_one_window() -> None:
    first, second = Span(tuple(days(5))).halves()
    assert [len(first.windows), len(second.windows)] == [3, 2]
    assert first.window.end == second.window.start == START + 3 * DAY
    with pytest.raises(ValueError, match="cannot be split"):
        Span(tuple(days(1))).halves()


@given(st.integers(min_value=1, max_value=200))
def test_splitting_again_and_again_ends_in_every_single_window(count: int) -> None:
    pending, singles = [Span(tuple(days(count)))], []
    splits = 0
    while pending:
        span = pending.pop()
        if span.merged:
            first, second = span.halves()
            pending += [second, first]
            splits += 1
        else:
            singles.append(span.windows[0])
    assert singles == days(count)
    assert splits == count - 1


# -- density and sizing -------------------------------------------------------------------


def test_density_is_the_busiest_window_of_the_exports_remembered() -> None:
    quiet = Observation(Span(tuple(days(2))), (864, 0))
    busy = Observation(Span(tuple(days(1))), (86_400,))
    assert estimate_density([]) is None
    assert quiet.peak_density == pytest.approx(0.01)
    assert estimate_density([quiet, busy]) == pytest.approx(1.0)


def test_sizing_keeps_expected_rows_under_the_target() -> None:
    windows = days(40)
    # 10,000 rows a day: 25 days make the target exactly.
    assert windows_for(policy(), windows, 10_000 / 86_400) == 25
    assert windows_for(policy(), windows, 0.0) == 31  # nothing seen: as long as allowed
    assert windows_for(policy(), windows[:7], 0.0) == 7  # no more than remain
    assert windows_for(policy(), windows, 1_000_000 / 86_400) == 1  # never below one window
    assert windows_for(policy(max_windows=1), windows, 0.0) == 1


# -- the planner ------------------------------------------------------------------------


@pytest.mark.parametrize("due", [1, 2, 4])
def test_a_run_a_few_windows_behind_starts_one_export_per_window_at_once(due: int) -> None:
    planner = SpanPlanner(policy(concurrency=4), days(due))
    spans = [planner.next_span() for _ in range(due)]
    assert [s.windows if s else None for s in spans] == [(w,) for w in days(due)]
    assert planner.next_span() is None


def test_a_backfill_probes_with_one_window_then_waits_for_its_rows() -> None:
    planner = SpanPlanner(policy(), days(100))
    probe = planner.next_span()
    assert probe is not None
    assert probe.windows == (days(100)[0],)
    waiting = [planner.waiting]
    assert planner.next_span() is None  # nothing known yet: no blind merged export
    observe(planner, probe, 300)
    waiting.append(planner.waiting)
    assert waiting == [True, False]
    merged = planner.next_span()
    assert merged is not None
    assert len(merged.windows) == 31
    assert merged.window.start == probe.window.end


def test_a_burst_shrinks_the_next_span_at_once_and_quiet_exports_grow_it_back() -> None:
    planner = SpanPlanner(policy(), days(400))
    observe(planner, planner.next_span() or Span(()), 300)
    quiet = planner.next_span()
    assert quiet is not None
    assert len(quiet.windows) == 31
    observe(planner, quiet, 20_000)  # the burst: 620,000 rows came back
    shrunk = planner.next_span()
    assert shrunk is not None
    assert len(shrunk.windows) == 12  # 12 x 20,000 <= 250,000 < 13 x 20,000
    observe(planner, shrunk, 300)
    lengths = []
    for _ in range(MEMORY):
        span = planner.next_span()
        assert span is not None
        lengths.append(len(span.windows))
        observe(planner, span, 300)
    assert lengths[: MEMORY - 1] == [12] * (MEMORY - 1)  # the burst is still remembered
    assert lengths[-1] == 31  # forgotten once MEMORY quiet exports came back


def test_merging_off_plans_one_window_per_export() -> None:
    for off in (
        policy(max_windows=1),
        SpanPolicy.build(
            window=DAY, max_window=31 * DAY, target_rows=TARGET, with_timestamp=False, concurrency=4
        ),
    ):
        planner = SpanPlanner(off, days(50))
        spans = [planner.next_span() for _ in range(50)]
        assert [s.windows if s else None for s in spans] == [(w,) for w in days(50)]
        assert not planner.waiting


def test_a_saved_export_is_reused_with_its_own_span() -> None:
    planner = SpanPlanner(policy(), days(100))
    saved = planner.next_span(first_window_of=9)
    assert saved is not None
    assert saved.windows == tuple(days(100)[:9])


@settings(max_examples=200, deadline=None)
@given(
    due=st.integers(min_value=1, max_value=120),
    step_hours=st.sampled_from([1, 6, 24, 36]),
    max_windows=st.integers(min_value=1, max_value=40),
    concurrency=st.integers(min_value=1, max_value=6),
    rows=st.lists(st.integers(min_value=0, max_value=60_000), min_size=1, max_size=20),
    ragged=st.integers(min_value=0, max_value=3599),
)
def test_spans_tile_the_run_in_order_within_every_bound(
    due: int, step_hours: int, max_windows: int, concurrency: int, rows: list[int], ragged: int
) -> None:
    step = dt.timedelta(hours=step_hours)
    end = START + due * step - dt.timedelta(seconds=ragged)  # the last window may be short
    windows = plan_windows(START, end, step)
    planner = SpanPlanner(policy(max_windows, concurrency, target=20_000), windows)
    in_flight: list[Span] = []
    spans: list[Span] = []
    turn = 0
    while True:
        span = planner.next_span()
        if span is not None:
            spans.append(span)
            in_flight.append(span)
            if len(in_flight) < concurrency:
                continue
        if not in_flight:
            break
        done = in_flight.pop(0)
        per_window = rows[turn % len(rows)]
        turn += 1
        observation = observe(planner, done, per_window)
        assert observation.total == per_window * len(done.windows)
    assert [w for span in spans for w in span.windows] == windows
    assert all(len(span.windows) <= max_windows for span in spans)
    assert all(span.window.end - span.window.start <= max_windows * step for span in spans)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.integers(min_value=0, max_value=40_000), min_size=MEMORY, max_size=30),
)
def test_every_span_sized_from_a_density_holds_at_most_the_target_at_that_density(
    rows: list[int],
) -> None:
    planner = SpanPlanner(policy(target=100_000), days(2000))
    for per_window in rows:
        span = planner.next_span()
        assert span is not None
        density = planner.density()
        if density is not None and span.merged:
            assert density * 86_400 * len(span.windows) <= 100_000
        observe(planner, span, per_window)


def test_a_steady_sparse_backfill_of_three_years_needs_about_36_exports() -> None:
    spans = drain(SpanPlanner(policy(), days(1096)), 300)
    assert len(spans) == 1 + 36  # the probe, then 31-day spans
    assert [len(s.windows) for s in spans[:3]] == [1, 31, 31]


def test_empty_exports_let_spans_grow_only_fourfold_until_rows_are_seen() -> None:
    """A start_date before the first registration: no density known, no blind 31 days."""
    planner = SpanPlanner(policy(), days(400))
    lengths = []
    for _ in range(4):
        span = planner.next_span()
        assert span is not None
        lengths.append(len(span.windows))
        observe(planner, span, 0)
    assert EMPTY_GROWTH == 4
    assert lengths == [1, 4, 16, 31]
    busy = planner.next_span()
    assert busy is not None
    observe(planner, busy, 50_000)  # rows at last: sized from them from now on
    after = planner.next_span()
    assert after is not None
    assert len(after.windows) == 5  # 5 x 50,000 = 250,000

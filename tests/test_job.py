"""SpanJob: state transitions, the one place rows already handed on are skipped, new ids."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tap_emarsys_registrations.extraction.job import JobState, SpanJob
from tap_emarsys_registrations.extraction.plan import ExportPlan
from tap_emarsys_registrations.extraction.spans import Span
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.settings.export import ExportOptions
from tap_emarsys_registrations.windows import plan_windows

START = dt.datetime(2024, 3, 29, tzinfo=dt.UTC)
WINDOWS = plan_windows(START, START + dt.timedelta(days=3), dt.timedelta(days=1))
FIELDS = [Field(i, f"F{i}", "text", None, f"f{i}") for i in range(1, 26)]  # two parts
PLAN = ExportPlan.build(
    FIELDS, {}, ExportOptions.from_config({}), ZoneInfo("Europe/Vienna"), concurrency=2
)


def job(saved: tuple[int | None, ...] = (None, None)) -> SpanJob:
    span = Span(tuple(WINDOWS))
    requests = [PLAN.request_for(span.window, k) for k in range(len(PLAN.parts))]
    return SpanJob(span, zip(requests, saved, strict=True))


def test_a_job_moves_from_planned_to_checkpointed() -> None:
    made = job()
    states = [made.state]
    first, second = made.parts
    made.part_started(first, 11)
    made.part_started(second, 12)
    states.append(made.state)
    made.part_done(first, {"status": "done"})
    states.append(made.state)  # one part still runs
    made.part_done(second, {"status": "done"})
    states.append(made.state)
    made.read()
    states.append(made.state)
    made.checkpointed()
    states.append(made.state)
    assert states == [
        JobState.PLANNED,
        JobState.STARTED,
        JobState.STARTED,
        JobState.DONE,
        JobState.READ,
        JobState.CHECKPOINTED,
    ]


def test_new_ids_are_handed_over_once_with_the_span_and_part() -> None:
    made = job()
    made.part_started(made.parts[1], 77)
    taken = made.take_new_ids()
    assert [(n.window, n.export_id, n.part) for n in taken] == [(made.window, 77, 1)]
    assert taken[0].fingerprint == made.parts[1].request.fingerprint()
    assert made.take_new_ids() == []


def test_saved_ids_are_reused_and_not_reported_again() -> None:
    made = job((5, None))
    assert made.saved == [True, False]
    assert made.parts[0].export_id == 5
    assert made.take_new_ids() == []
    assert made.state is JobState.PLANNED  # part 1 still needs an export
    assert job((5, 6)).state is JobState.STARTED


def test_fresh_skips_what_an_earlier_read_handed_on_and_counts_only_what_was_taken() -> None:
    made = job()
    first = made.fresh(iter("abcdef"))
    assert [next(first), next(first), next(first)] == ["a", "b", "c"]
    assert made.rows_done == 2  # "c" was handed on but not yet followed by a request
    next(first)
    assert made.rows_done == 3
    assert list(made.fresh(iter("abcdef"))) == ["d", "e", "f"]
    assert made.rows_done == 6
    made.restart_reading()
    assert list(made.fresh(iter("xy"))) == ["x", "y"]


def test_read_counts_rows_per_grid_window() -> None:
    made = job()
    for start in ["2024-03-29T00:00:00+00:00"] * 2 + ["2024-03-31T00:00:00+00:00"]:
        made.count(start)
    assert made.read().rows == (2, 0, 1)

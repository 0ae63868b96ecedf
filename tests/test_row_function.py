"""The compiled row function follows the row-to-record rules, written plainly here, for any body.

The reference below is the rules as the tap documents them, with the slow,
obvious conversions (no hour cache, no last-timestamp reuse, no shortcut for
plain numbers and dates). Random bodies cover both delimiters, header on and
off, timestamp column on and off, every field kind, empty cells, quotes,
delimiters and line breaks inside values, odd number and date layouts and
rows outside the window.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_emarsys_registrations.delivery.body import Body, ReadMemory, data_rows
from tap_emarsys_registrations.errors import CSVFormatError
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.records.csv_records import Layout, RecordBuilder
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import Window

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
WINDOW = Window(dt.datetime(2024, 3, 30, 12, tzinfo=UTC), dt.datetime(2024, 3, 31, 12, tzinfo=UTC))
KINDS = {"string": "shorttext", "number": "numeric", "date": "date"}


def _reference_number(raw: str) -> Decimal | None:
    if raw == "":
        return None
    text = raw.strip()
    if re.match(r"^-?\d+,\d+$", text):
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite():
        raise ValueError(raw)
    return value


def _reference_date(raw: str) -> str | None:
    if raw == "":
        return None
    text = raw.strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    for layout in ("%d.%m.%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, layout).date().isoformat()  # noqa: DTZ007
        except ValueError:
            continue
    return text


def _reference(fields: list[Field], row: list[str], *, ts: bool) -> dict[str, Any] | None:
    """The rules: user_id, the window test on the UTC timestamp, then each field's value."""
    record: dict[str, Any] = {"user_id": int(row[0]), "registered_at": None}
    record["window_start"] = WINDOW.start.isoformat()
    if ts:
        naive = dt.datetime.fromisoformat(row[-1])
        utc = naive.replace(tzinfo=VIENNA, fold=0).astimezone(UTC)
        if not WINDOW.start <= utc < WINDOW.end:
            return None
        record["registered_at"] = utc.isoformat(timespec="seconds")
    for field, raw in zip(fields, row[1:], strict=False):
        if field.kind == "number":
            record[field.property_name] = _reference_number(raw)
        elif field.kind == "date":
            record[field.property_name] = _reference_date(raw)
        else:
            record[field.property_name] = raw or None
    return record


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
NUMBER = st.one_of(
    st.just(""),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["12,5", "-3,25", " 7.5 ", "1e3", "0.10", "1_000", "-0"]),
)
DATE = st.one_of(
    st.just(""),
    st.dates().map(dt.date.isoformat),
    st.dates(min_value=dt.date(1000, 1, 1)).map(lambda d: d.strftime("%d.%m.%Y")),
    st.sampled_from(["2024-W01-1", " 2024-02-29 ", "2024/02/29", "n/a", "2023-02-30"]),
)
FIRST, LAST = dt.datetime(2024, 3, 29), dt.datetime(2024, 4, 2)  # noqa: DTZ001 - wall times
# The window's edges (13:00 CET, 14:00 CEST), both sides of the DST change, a time in its gap.
EDGES = ["2024-03-30 13:00:00", "2024-03-30 12:59:59", "2024-03-31 14:00:00", "2024-03-31 13:59:59"]
EDGES += ["2024-03-31 01:59:59", "2024-03-31 03:00:00", "2024-03-31 02:30:00"]
MOMENT = st.one_of(
    st.datetimes(FIRST, LAST).map(lambda m: m.strftime("%Y-%m-%d %H:%M:%S")),
    st.sampled_from(EDGES),
)
CELLS = {"string": TEXT, "number": NUMBER, "date": DATE}


@st.composite
def _exports(draw: st.DrawFn) -> tuple[list[Field], list[list[str]], bool]:
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=5))
    fields = [
        Field(1000 + i, f"Field {i}", KINDS[kind], None, f"field_{1000 + i}")
        for i, kind in enumerate(kinds)
    ]
    ts = draw(st.booleans())
    # Valid rows only: an empty timestamp is an error (a null key, tests/test_keys.py).
    moments = draw(st.lists(MOMENT, min_size=1, max_size=4))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = [str(draw(st.integers(1, 10**9)))] + [draw(CELLS[k]) for k in kinds]
        if ts:  # repeated timestamps, as in a real export, and some fresh ones
            row.append(draw(st.sampled_from(moments) | MOMENT))
        rows.append(row)
    return fields, rows, ts


def _body(rows: list[list[str]], header: list[str] | None, delimiter: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@given(export=_exports(), delimiter=st.sampled_from([";", ","]), header=st.booleans())
@settings(max_examples=400, deadline=None)
def test_the_row_function_follows_the_rules(
    export: tuple[list[Field], list[list[str]], bool], delimiter: str, header: bool
) -> None:
    fields, rows, ts = export
    names = tuple(f.name for f in fields)
    layout = Layout(tuple(fields), with_timestamp=ts, header=header, header_names=names)
    head = ["user_id", *names, *(["last update"] if ts else [])] if header else None
    body = Body(iter([_body(rows, head, delimiter)]), None, lambda: None)
    builder = RecordBuilder(layout, WINDOW, LocalTimestampConverter(VIENNA), "export 1")
    expected = [r for r in (_reference(fields, row, ts=ts) for row in rows) if r is not None]
    check = builder.check_header if header else None
    parsed = data_rows(body, delimiter=delimiter, memory=ReadMemory(), check_header=check)
    got = [r for r in (builder.build(row, number) for number, row in parsed) if r is not None]
    assert got == expected
    assert [type(v) for r in got for v in r.values()] == [
        type(v) for r in expected for v in r.values()
    ]


def _builder(*kinds: str, ts: bool = True) -> RecordBuilder:
    fields = tuple(Field(i, f"F{i}", KINDS[k], None, f"f{i}") for i, k in enumerate(kinds, 1))
    layout = Layout(fields, with_timestamp=ts, header=False, header_names=())
    return RecordBuilder(layout, WINDOW, LocalTimestampConverter(VIENNA), "export 1")


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (["1", "x"], "CSV row 5: 2 columns, expected 3"),
        (["one", "2", "2024-03-30 20:00:00"], "CSV row 5: user_id 'one' is not an integer"),
        (["1", "abc", "2024-03-30 20:00:00"], "CSV row 5: 'abc' is not a number"),
        (["1", "NaN", "2024-03-30 20:00:00"], "CSV row 5: 'NaN' is not a finite number"),
        (["1", "2", "yesterday"], "CSV row 5: not a 'YYYY-MM-DD HH:MM:SS' timestamp"),
    ],
)
def test_a_bad_row_is_named(row: list[str], problem: str) -> None:
    with pytest.raises(CSVFormatError, match=re.escape(problem)) as caught:
        _builder("number").build(row, 5)
    assert str(caught.value).startswith("export 1, CSV row 5: ")


def test_a_bad_value_outside_the_window_is_not_an_error() -> None:
    assert _builder("number").build(["1", "abc", "2024-03-29 20:00:00"], 5) is None


def test_a_bad_timestamp_is_not_remembered_as_the_last_one() -> None:
    builder = _builder("string")
    for _ in range(2):
        problem = "CSV row 2: not a 'YYYY-MM-DD HH:MM:SS' timestamp: '2024-03-30 25:00:00'"
        with pytest.raises(CSVFormatError, match=re.escape(problem) + r" \(hour must be in"):
            builder.build(["1", "x", "2024-03-30 25:00:00"], 2)
    record = builder.build(["1", "x", "2024-03-30 20:00:00"], 3)
    assert record is not None
    assert record["registered_at"] == "2024-03-30T19:00:00+00:00"


def test_values_of_a_later_part_are_cast_and_named() -> None:
    builder = _builder("string", "number", "date")
    record: dict[str, Any] = {}
    builder.add_values(record, ["1", "", "12,5", "31.12.2020", "x"], 9)
    assert record == {"f1": None, "f2": Decimal("12.5"), "f3": "2020-12-31"}
    with pytest.raises(CSVFormatError, match="CSV row 9: 'z' is not a number"):
        builder.add_values(record, ["1", "", "z", "", "x"], 9)

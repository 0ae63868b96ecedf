"""Cells to values, header checks and the byte stream under the CSV parser, one rule each.

These are the rules records/csv_records.py applies to every cell of an export; the
end-to-end CSV tests (test_csv_records.py) show them together.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tap_emarsys_registrations.errors import CSVFormatError
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.records.csv_records import (
    ChunkReader,
    Layout,
    RecordBuilder,
    broken_body,
    cast_date,
    cast_number,
)
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import Window

UTC = dt.UTC
FIELDS = (
    Field(1, "First Name", "shorttext", "first_name", "first_name"),
    Field(5001, "Loyalty points", "numeric", "loyalty_points", "loyalty_points"),
)
WINDOW = Window(dt.datetime(2024, 3, 30, tzinfo=UTC), dt.datetime(2024, 3, 31, tzinfo=UTC))


def _builder(*, header_names: tuple[str, ...] = ("First Name", "Loyalty points")) -> RecordBuilder:
    layout = Layout(FIELDS, with_timestamp=True, header=True, header_names=header_names)
    converter = LocalTimestampConverter(ZoneInfo("Europe/Vienna"))
    return RecordBuilder(layout, WINDOW, converter, "window 1/1, export 7")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12.50", Decimal("12.50")),
        (" 12.5 ", Decimal("12.5")),
        ("12,5", Decimal("12.5")),
        ("-3,25", Decimal("-3.25")),
        (" 12,5 ", Decimal("12.5")),
        ("1e3", Decimal("1E+3")),
        ("0", Decimal(0)),
        ("", None),
    ],
)
def test_a_number_keeps_its_digits_and_reads_a_decimal_comma(raw: str, value: Decimal) -> None:
    got = cast_number(raw)
    assert got == value
    assert str(got) == str(value), "no digit is lost or added"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("abc", "'abc' is not a number"),
        ("12,5,6", "'12,5,6' is not a number"),
        ("+1,5", "'+1,5' is not a number"),
        ("1.5,0", "'1.5,0' is not a number"),
        ("NaN", "'NaN' is not a finite number"),
        ("-Infinity", "'-Infinity' is not a finite number"),
        (" inf ", "' inf ' is not a finite number"),
    ],
)
def test_a_cell_that_is_no_finite_number_says_so(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + problem.replace("+", r"\+") + "$"):
        cast_number(raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2024-01-31", "2024-01-31"),
        (" 2024-01-31 ", "2024-01-31"),
        ("31.12.2020", "2020-12-31"),
        ("1.2.2020", "2020-02-01"),
        ("2020/12/31", "2020-12-31"),
        ("", None),
        # Not a date in any layout: kept as it is rather than lost.
        ("2024-02-30", "2024-02-30"),
        ("2024-1-31", "2024-1-31"),
        ("tomorrow", "tomorrow"),
        (" 31.02.2020 ", "31.02.2020"),
    ],
)
def test_a_date_becomes_iso_or_is_kept_as_it_is(raw: str, value: str | None) -> None:
    assert cast_date(raw) == value


def test_the_header_is_matched_by_name_ignoring_case_and_blanks() -> None:
    _builder().check_header(["USER_ID", " first  name ", "loyalty POINTS", "anything"])
    _builder(header_names=("", "Loyalty points")).check_header(
        ["user_id", "Vorname", "Loyalty points", "x"]
    )


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (["user_id", "First Name", "Loyalty points"], "header has 3 columns, expected 4"),
        (
            ["user_id", "First Name", "Loyalty points", "t", "u"],
            "header has 5 columns, expected 4",
        ),
        (
            ["id", "First Name", "Loyalty points", "t"],
            "first header column is 'id', expected 'user_id'",
        ),
        (
            ["user_id", "First Name", "Points", "t"],
            (
                "header column 3 is 'Points', expected 'Loyalty points' "
                "(the export does not have the requested fields)"
            ),
        ),
        (
            ["user_id", "Last Name", "Loyalty points", "t"],
            (
                "header column 2 is 'Last Name', expected 'First Name' "
                "(the export does not have the requested fields)"
            ),
        ),
    ],
)
def test_a_header_that_does_not_match_names_the_column(header: list[str], problem: str) -> None:
    with pytest.raises(CSVFormatError) as raised:
        _builder().check_header(header)
    assert str(raised.value) == f"window 1/1, export 7, CSV row 1: {problem}"


def test_values_and_nulls_of_an_export_part() -> None:
    builder = _builder()
    record: dict[str, object] = {"user_id": 1}
    builder.add_values(record, ["1", "Ann", "12,5", "2024-03-30 12:00:00"], 2)
    assert record == {"user_id": 1, "first_name": "Ann", "loyalty_points": Decimal("12.5")}
    assert builder.nulls() == {"first_name": None, "loyalty_points": None}
    assert _builder().build(["1", "Ann", "3", "2024-03-30 12:00:00"], 2) == {
        "user_id": 1,
        "registered_at": "2024-03-30T11:00:00+00:00",
        "window_start": "2024-03-30T00:00:00+00:00",
        "first_name": "Ann",
        "loyalty_points": Decimal(3),
    }


def test_the_chunk_reader_counts_bytes_and_remembers_the_last_one() -> None:
    reader = ChunkReader([b"", b"ab", b"", b"cde"])
    buffer = bytearray(4)
    assert reader.readable()
    assert reader.readinto(buffer) == 2
    assert (bytes(buffer[:2]), reader.bytes_read, reader.last_byte, reader.eof) == (
        b"ab",
        2,
        b"b",
        False,
    )
    assert reader.readinto(buffer) == 3
    assert (bytes(buffer[:3]), reader.bytes_read, reader.last_byte) == (b"cde", 5, b"e")
    assert reader.readinto(buffer) == 0
    assert reader.eof
    small = ChunkReader([b"abcdef"])
    assert small.readinto(bytearray(4)) == 4
    assert small.last_byte == b"d"
    assert small.readinto(bytearray(4)) == 2
    assert small.last_byte == b"f"


def test_a_broken_body_is_a_retryable_truncation_naming_the_cause() -> None:
    bad_utf8 = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    assert str(broken_body(bad_utf8)) == "body is not valid UTF-8 (invalid start byte)"
    cut = csv.Error("unexpected end of data")
    assert str(broken_body(cut)) == "CSV ended or broke inside a value: unexpected end of data"

"""Streaming CSV parsing: delimiters, header, timestamp, BOM, CRLF, quoting, chunking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_emarsys_registrations.delivery.body import Body, ReadMemory, data_rows
from tap_emarsys_registrations.errors import CSVFormatError, TruncatedDownloadError
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.records.csv_records import Layout, RecordBuilder
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import Window

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
FIELDS = (
    Field(1, "First Name", "shorttext", "first_name", "first_name"),
    Field(5001, "Loyalty points", "numeric", "loyalty_points", "loyalty_points"),
    Field(5002, "Last purchase", "date", "last_purchase_date", "last_purchase_date"),
)
WINDOW = Window(dt.datetime(2024, 3, 30, tzinfo=UTC), dt.datetime(2024, 4, 1, tzinfo=UTC))
AWKWARD = 'Zoë; "the, quoted"\r\nline 2 東京 🎉'


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _cell(value: str, delimiter: str) -> str:
    """RFC 4180: quote a value holding the delimiter, a quote, CR or LF."""
    if any(c in value for c in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _body(
    rows: list[list[str]], *, delimiter: str, bom: bool, crlf: bool, header: bool, ts: bool
) -> bytes:
    lines = []
    if header:
        lines.append(
            ["user_id", "First Name", "Loyalty points", "Last purchase"]
            + (["last update"] if ts else [])
        )
    lines.extend(row if ts else row[:-1] for row in rows)
    end = "\r\n" if crlf else "\n"
    text = "".join(delimiter.join(_cell(c, delimiter) for c in line) + end for line in lines)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def _parse(
    body: bytes, *, delimiter: str, header: bool, ts: bool, chunk: int = 7
) -> list[dict[str, object]]:
    layout = Layout(
        FIELDS,
        with_timestamp=ts,
        header=header,
        header_names=("First Name", "Loyalty points", "Last purchase"),
    )
    builder = RecordBuilder(layout, WINDOW, LocalTimestampConverter(VIENNA), "window 1/1, export 9")
    stream = Body(iter(_chunks(body, chunk)), None, lambda: None)
    check = builder.check_header if header else None
    rows = data_rows(stream, delimiter=delimiter, memory=ReadMemory(), check_header=check)
    return [r for r in (builder.build(row, number) for number, row in rows) if r is not None]


ROWS = [
    ["101", AWKWARD, "12.50", "2024-01-31", "2024-03-31 01:59:59"],  # last CET second
    ["102", "", "", "", "2024-03-31 03:00:00"],  # first CEST second
    ["103", "x" * 2000, "7", "1999-12-31", "2024-03-30 00:00:00"],  # window start, CET
]
EXPECTED = [
    {
        "user_id": 101,
        "registered_at": "2024-03-31T00:59:59+00:00",
        "first_name": AWKWARD,
        "loyalty_points": Decimal("12.50"),
        "last_purchase_date": "2024-01-31",
    },
    {
        "user_id": 102,
        "registered_at": "2024-03-31T01:00:00+00:00",
        "first_name": None,
        "loyalty_points": None,
        "last_purchase_date": None,
    },
    {
        "user_id": 103,
        "registered_at": "2024-03-29T23:00:00+00:00",
        "first_name": "x" * 2000,
        "loyalty_points": Decimal(7),
        "last_purchase_date": "1999-12-31",
    },
]


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("ts", [True, False])
@pytest.mark.parametrize("bom", [True, False])
@pytest.mark.parametrize("crlf", [True, False])
def test_every_layout_parses_to_the_same_records(
    delimiter: str, header: bool, ts: bool, bom: bool, crlf: bool
) -> None:
    body = _body(ROWS, delimiter=delimiter, bom=bom, crlf=crlf, header=header, ts=ts)
    records = _parse(body, delimiter=delimiter, header=header, ts=ts)
    expected = [
        {
            **e,
            "window_start": "2024-03-30T00:00:00+00:00",
            "registered_at": e["registered_at"] if ts else None,
        }
        for e in EXPECTED
    ]
    if ts:  # row 103 lies before the window start in UTC and is dropped
        expected = [e for e in expected if e["user_id"] != 103]
    assert records == expected


def test_multibyte_characters_split_across_every_chunk_boundary() -> None:
    body = _body(ROWS, delimiter=";", bom=True, crlf=True, header=True, ts=True)
    baseline = _parse(body, delimiter=";", header=True, ts=True, chunk=len(body))
    for size in (1, 2, 3, 5):
        assert _parse(body, delimiter=";", header=True, ts=True, chunk=size) == baseline


values = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@given(
    cells=st.lists(values, min_size=1, max_size=6),
    delimiter=st.sampled_from([";", ","]),
    bom=st.booleans(),
    crlf=st.booleans(),
    chunk=st.integers(1, 64),
)
@settings(max_examples=200, deadline=None)
def test_random_text_round_trips(
    cells: list[str], delimiter: str, bom: bool, crlf: bool, chunk: int
) -> None:
    rows = [
        [str(200 + i), cell, "1", "2024-01-01", "2024-03-30 12:00:00"]
        for i, cell in enumerate(cells)
    ]
    body = _body(rows, delimiter=delimiter, bom=bom, crlf=crlf, header=True, ts=True)
    records = _parse(body, delimiter=delimiter, header=True, ts=True, chunk=chunk)
    assert [r["first_name"] for r in records] == [cell or None for cell in cells]


def test_header_that_does_not_match_the_requested_fields_is_an_error() -> None:
    body = b"user_id;Vorname;Loyalty points;Last purchase;last update\r\n"
    with pytest.raises(
        CSVFormatError, match=r"window 1/1, export 9, CSV row 1: header column 2 is 'Vorname'"
    ):
        _parse(body, delimiter=";", header=True, ts=True)


def test_ragged_row_names_export_window_and_row() -> None:
    body = (
        _body(ROWS, delimiter=";", bom=False, crlf=True, header=True, ts=True)
        + b"104;a;1\r\n105;b;2;2024-01-01;2024-03-30 12:00:00\r\n"
    )
    with pytest.raises(CSVFormatError, match=r"export 9, CSV row 5: 3 columns, expected 5"):
        _parse(body, delimiter=";", header=True, ts=True)


def test_body_cut_inside_a_quoted_value_is_truncation() -> None:
    body = b'user_id;First Name;Loyalty points;Last purchase;last update\r\n1;"unterminated'
    with pytest.raises(TruncatedDownloadError):
        _parse(body, delimiter=";", header=True, ts=True)


@pytest.mark.parametrize(
    ("tail", "cause"),
    [
        # Cut just after a line break inside a quoted value: the body ends with a line
        # break, so only the open quote shows it is cut; the row must not pass as short.
        (b'1;"first line\r\n', "unexpected end of data"),
        # A character after a closing quote: the cells cannot be told apart.
        (b'1;"Ann"x;1;2024-01-01;2024-03-30 12:00:00\r\n', "';' expected after '\"'"),
    ],
)
def test_a_value_broken_around_its_quotes_is_retried_as_truncated(tail: bytes, cause: str) -> None:
    body = b"user_id;First Name;Loyalty points;Last purchase;last update\r\n" + tail
    with pytest.raises(TruncatedDownloadError) as raised:
        _parse(body, delimiter=";", header=True, ts=True)
    assert str(raised.value) == f"CSV ended or broke inside a value: {cause}"


def test_bad_number_is_reported_with_its_row() -> None:
    body = b"1;Ann;lots;2024-01-01;2024-03-30 12:00:00\n"
    with pytest.raises(CSVFormatError, match="CSV row 1: 'lots' is not a number"):
        _parse(body, delimiter=";", header=False, ts=True)


def test_timestamp_converter_handles_both_dst_edges() -> None:
    conv = LocalTimestampConverter(VIENNA)
    assert (
        conv.to_utc_string("2024-10-27 02:30:00") == "2024-10-27T00:30:00+00:00"
    )  # first occurrence
    assert conv.to_utc_string("2024-10-27 03:00:00") == "2024-10-27T02:00:00+00:00"
    assert conv.to_utc_string("2024-07-01 12:00:00") == "2024-07-01T10:00:00+00:00"
    assert conv.to_utc_string("2024-01-01 00:00") == "2023-12-31T23:00:00+00:00"
    india = LocalTimestampConverter(ZoneInfo("Asia/Kolkata"))
    assert india.to_utc_string("2024-01-01 05:30:00") == "2024-01-01T00:00:00+00:00"
    with pytest.raises(ValueError, match="not a 'YYYY-MM-DD HH:MM:SS' timestamp"):
        conv.to_utc_string("yesterday")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "user_id;First Name;Loyalty points;Last purchase",
            "window 1/1, export 9, CSV row 1: header has 4 columns, expected 5",
        ),
        (
            "id;First Name;Loyalty points;Last purchase;last update",
            "window 1/1, export 9, CSV row 1: first header column is 'id', expected 'user_id'",
        ),
        (
            "user_id;First Name;Loyalty points;Purchase;last update",
            (
                "window 1/1, export 9, CSV row 1: header column 4 is 'Purchase', expected "
                "'Last purchase' (the export does not have the requested fields)"
            ),
        ),
    ],
)
def test_a_header_that_differs_is_named_in_full(header: str, message: str) -> None:
    body = header.encode() + b"\r\n"
    with pytest.raises(CSVFormatError) as raised:
        _parse(body, delimiter=";", header=True, ts=True)
    assert str(raised.value) == message


def test_header_names_match_whatever_their_case_and_blanks() -> None:
    body = b" USER_ID ;first  name;LOYALTY POINTS;last\tpurchase;x\r\n"
    body += b"7;Ann;1;2024-01-01;2024-03-30 12:00:00\r\n"
    records = _parse(body, delimiter=";", header=True, ts=True)
    assert [(r["user_id"], r["first_name"]) for r in records] == [(7, "Ann")]

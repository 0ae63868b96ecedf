"""Downloads cut at a row cap: the rest is fetched with offset, in whichever form works."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from sandbox.fields import exportable_ids
from tap_emarsys_registrations.delivery.paging import PagingError
from tap_emarsys_registrations.delivery.row_count import RecordCounter, RowCaps, first_records
from tests.conftest import Run, expected_keys, record_keys, run_tap, tap_config
from tests.remote_servers import HOST, PASSWORD, USER, FtpServer

if TYPE_CHECKING:
    from pathlib import Path

    from sandbox import RequestLogEntry

# A day without a DST change; bounds "[)" make a download hold exactly the window's rows.
START = dt.datetime(2024, 4, 10, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
PER_DAY = 6
ROWS = 31  # PER_DAY random rows plus the sandbox's fixed edge cases
SIZES = {"exactly-the-cap": ROWS, "cap-plus-one": ROWS - 1, "twice-the-cap-plus-one": 15}


def _sandbox(**overrides: Any) -> Sandbox:
    return Sandbox(SandboxConfig(start=START, days=1, per_day=PER_DAY, bounds="[)", **overrides))


def _downloads(sb: Sandbox) -> list[RequestLogEntry]:
    return [e for e in sb.requests if e.method == "GET" and "/data" in e.path]


def _page(entry: RequestLogEntry) -> str:
    """How a download asked for its page: '', 'query' or 'path'."""
    if "offset" in entry.query:
        return "query"
    return "path" if not entry.path.endswith("/data") else ""


def _run(sb: Sandbox, cap: int, **config: Any) -> Run:
    settings = tap_config(sb, window_hours=24, **config)
    return run_tap(settings, row_caps=RowCaps((cap, 10 * ROWS)))


def _check_whole(sb: Sandbox, run: Run) -> None:
    assert run.error is None, run.error
    keys = record_keys(run)
    assert len(sb.truth(START, END)) == ROWS
    assert keys == expected_keys(sb, START, END)
    assert max(Counter(keys).values()) == 1
    assert run.bookmark == END.isoformat()
    last_record = max(i for i, m in enumerate(run.messages) if m["type"] == "RECORD")
    bookmarks = [
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "STATE"
        and m["value"]["bookmarks"]["registrations"].get("replication_key_value") == END.isoformat()
    ]
    assert bookmarks
    assert min(bookmarks) > last_record  # the window is done only after all its pages


@pytest.mark.parametrize(
    "header_on_every_page", [True, False], ids=["header-repeats", "header-once"]
)
@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_query_form_pages_past_the_cap(size: str, header_on_every_page: bool) -> None:
    cap = SIZES[size]
    with _sandbox(
        download_row_cap=cap, paging_forms="query", header_on_every_page=header_on_every_page
    ) as sb:
        run = _run(sb, cap)
        _check_whole(sb, run)
        pages = [_page(e) for e in _downloads(sb)]
        expected_pages = ROWS // cap + 1
        assert pages == ["", *["query"] * (expected_pages - 1)]
        offsets = [int(e.query["offset"]) for e in _downloads(sb)[1:]]
        assert offsets == [cap * k for k in range(1, expected_pages)]
        assert all("limit" not in e.query for e in _downloads(sb))


@pytest.mark.parametrize(
    "header_on_every_page", [True, False], ids=["header-repeats", "header-once"]
)
@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_path_form_is_used_when_the_query_form_is_ignored(
    size: str, header_on_every_page: bool, caplog: pytest.LogCaptureFixture
) -> None:
    cap = SIZES[size]
    config = {
        "download_row_cap": cap,
        "paging_forms": "path",
        "header_on_every_page": header_on_every_page,
    }
    with (
        _sandbox(**config) as sb,
        caplog.at_level(logging.INFO, logger="tap_emarsys_registrations.delivery.paging"),
    ):
        run = _run(sb, cap)
        _check_whole(sb, run)
        pages = [_page(e) for e in _downloads(sb)]
        # The query form is tried once, seen to be ignored, then the path form is kept.
        assert pages == ["", "query", *["path"] * (ROWS // cap)]
        assert _downloads(sb)[2].path.endswith(f"/data/offset={cap}&limit={cap}")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("ignored offset in the query form" in m for m in messages) == 1
    assert sum("honours offset in the path form" in m for m in messages) == 1


def test_query_form_is_kept_when_the_path_form_is_refused() -> None:
    """The reverse: a server that routes no path form still pages through the query form."""
    with _sandbox(download_row_cap=10, paging_forms="query") as sb:
        run = _run(sb, 10)
        _check_whole(sb, run)
        assert all(e.status == 200 for e in _downloads(sb))
        assert [_page(e) for e in _downloads(sb)] == ["", "query", "query", "query"]


def test_no_paging_form_stops_before_the_window_is_checkpointed() -> None:
    with _sandbox(download_row_cap=10, paging_forms="none") as sb:
        run = _run(sb, 10)
        assert isinstance(run.error, PagingError)
        assert "exactly 10 rows" in str(run.error)
        assert "window_hours" in str(run.error)
        assert run.bookmark != END.isoformat()
        statuses = [(_page(e), e.status) for e in _downloads(sb)]
        assert statuses == [("", 200), ("query", 200), ("path", 404)]


@pytest.mark.parametrize("forms", ["query", "path"])
@pytest.mark.parametrize(
    ("delimiter", "header"),
    [(";", True), (",", False), (";", False)],
    ids=["semicolon", "no-header", "both"],
)
def test_delimiters_and_no_header(forms: str, delimiter: str, header: bool) -> None:
    with _sandbox(download_row_cap=10, paging_forms=forms) as sb:
        run = _run(sb, 10, delimiter=delimiter, add_field_names_header=header)
        _check_whole(sb, run)
        assert len(_downloads(sb)) == (4 if forms == "query" else 5)


def test_wide_export_parts_page_each_and_join() -> None:
    fields = sorted(exportable_ids())[:30]  # two exports per window
    with _sandbox(download_row_cap=10, paging_forms="path") as sb:
        run = _run(sb, 10, contact_fields=fields)
        _check_whole(sb, run)
        assert len({e.path.split("/")[4] for e in _downloads(sb)}) == 2
        assert sum(_page(e) == "path" for e in _downloads(sb)) == 6


@pytest.mark.parametrize("cap", [None, 50])
def test_fewer_rows_than_any_cap_is_one_request(cap: int | None) -> None:
    with _sandbox(download_row_cap=cap) as sb:
        run = _run(sb, ROWS - 1)  # one row more than the tap's smallest cap
        _check_whole(sb, run)
        assert [_page(e) for e in _downloads(sb)] == [""]


def test_a_cut_page_is_read_again_without_losing_or_repeating_rows() -> None:
    with _sandbox(download_row_cap=10, paging_forms="query", framing="chunked") as sb:
        sb.faults.drop_download_after_bytes = 200
        sb.faults.drop_download_count = 1
        run = _run(sb, 10)
        _check_whole(sb, run)
        assert len(_downloads(sb)) == 1 + 4


@pytest.mark.parametrize(
    ("chunks", "records"),
    [
        ([b"a,b\r\n1,2\r\n"], 2),
        ([b'a,"b\r\nc"\r\n1,2'], 2),
        ([b'a,"b', b'\nc""', b'"\n', b"1,2\n"], 2),
        ([b""], 0),
        ([b"\xef\xbb\xbfa\n"], 1),
    ],
)
def test_record_counter_skips_line_breaks_inside_quotes(chunks: list[bytes], records: int) -> None:
    counter = RecordCounter()
    for chunk in chunks:
        counter.feed(chunk)
    assert counter.records == records
    text = b"".join(chunks)
    terminated = text if text.endswith(b"\n") or not text else text + b"\n"
    assert len(first_records(terminated, 5)) == records


@pytest.mark.parametrize("header_on_every_page", [True, False])
def test_pages_with_a_bom_and_lf_line_ends(header_on_every_page: bool) -> None:
    config = {"bom": True, "crlf": False, "header_on_every_page": header_on_every_page}
    with _sandbox(download_row_cap=10, paging_forms="path", **config) as sb:
        run = _run(sb, 10)
        _check_whole(sb, run)
        # Paged past the BOM and the repeated header: the path form, one page per 10 rows.
        assert [_page(e) for e in _downloads(sb)] == ["", "query", *["path"] * (ROWS // 10)]


@pytest.mark.parametrize(("cap", "warned"), [(ROWS, 1), (ROWS - 1, 0)])
def test_an_ftp_file_of_exactly_a_cap_is_read_whole_with_a_warning(
    tmp_path: Path, cap: int, warned: int, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "exports").mkdir()
    with _sandbox(upload_retry_seconds=0.1) as sb, FtpServer(tmp_path) as ftp:
        settings = {"host": HOST, "port": ftp.port, "username": USER, "password": PASSWORD}
        with caplog.at_level(logging.WARNING, logger="tap_emarsys_registrations.delivery.paging"):
            run = _run(
                sb, cap, distribution_method="ftp", ftp_settings={**settings, "folder": "exports"}
            )
        _check_whole(sb, run)
        assert _downloads(sb) == []
    warnings = [r.getMessage() for r in caplog.records if "cannot be paged" in r.getMessage()]
    assert len(warnings) == warned
    if warned:
        assert f"exactly {ROWS} data rows" in warnings[0]

"""The tap under every answer to the places where Emarsys' contract contradicts itself.

Each contradiction has a sandbox switch (sandbox/config.py); the tap must give
exact rows under each, or stop in one line that names the setting to change.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from sandbox.config import SFTP_KEYS
from tap_emarsys_registrations.delivery.paging import PagingError, looks_like_json
from tap_emarsys_registrations.delivery.row_count import RowCaps
from tap_emarsys_registrations.emarsys.replies import hint
from tap_emarsys_registrations.emarsys.request_form import RequestForm, RequestForms
from tap_emarsys_registrations.errors import EmarsysAPIError
from tests.conftest import expected_keys, record_keys, run_tap, tap_config
from tests.remote_servers import HOST, PASSWORD, USER, SftpServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Run

DAYS = 2
CAP = 7
CAPS = RowCaps((CAP, 1000))  # the sandbox's cap of 7 rows counts as documented here
KEYS = ("sftp_settings", "ftp_settings")


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpServer]:
    (tmp_path / "exports").mkdir()
    with SftpServer(tmp_path) as server:
        yield server


def sftp_config(sb: Sandbox, sftp: SftpServer, **overrides: Any) -> dict[str, Any]:
    settings = {"host": HOST, "port": sftp.port, "username": USER, "password": PASSWORD}
    return tap_config(
        sb,
        window_hours=6,
        distribution_method="sftp",
        ftp_settings=settings | {"folder": "exports"},
        sftp_host_key=sftp.key_line,
        **overrides,
    )


def exact(sb: Sandbox, run: Run) -> None:
    assert run.error is None, run.error
    end = sb.config.start + dt.timedelta(days=sb.config.days)
    assert record_keys(run) == expected_keys(sb, sb.config.start, end)
    assert max(Counter(record_keys(run)).values()) == 1


def starts(sb: Sandbox) -> list[tuple[int, dict[str, Any]]]:
    """(status, body) of every getregistrations request, in order."""
    return [
        (e.status, e.json_body)  # type: ignore[misc]
        for e in sb.requests
        if e.path.endswith("/contact/getregistrations")
    ]


@pytest.mark.parametrize(
    ("key_mode", "port_type"),
    [(mode, "either") for mode in SFTP_KEYS]
    + [("either", "string"), ("either", "integer"), ("ftp_settings", "integer")]
    + [("sftp_settings_strict", "integer")],
)
def test_sftp_gives_exact_rows_in_every_form_emarsys_may_want(
    sftp: SftpServer, key_mode: str, port_type: str
) -> None:
    config = SandboxConfig(
        days=DAYS,
        per_day=25,
        upload_retry_seconds=0.1,
        sftp_settings_key=key_mode,
        sftp_port_type=port_type,
    )
    with Sandbox(config) as sb:
        # One export per window, so that four threads learn the form at once.
        run = run_tap(sftp_config(sb, sftp, max_concurrent_exports=4, max_window_hours=6))
        exact(sb, run)
        sent = starts(sb)
    # The tap starts with the current spec's form: sftp_settings, the port a string.
    wrong_key = key_mode == "ftp_settings"
    wrong_port = port_type == "integer"
    refused = [body for status, body in sent if status == 400]
    assert len(refused) == wrong_key + wrong_port, "one refused request per contradiction"
    taken = [body for status, body in sent if status == 200]
    assert len(taken) == 4 * DAYS
    for body in [body for _, body in sent]:
        assert len([key for key in KEYS if key in body]) == 1, "never both keys"
    key = "ftp_settings" if wrong_key else "sftp_settings"
    port_kind = int if wrong_port else str
    assert {(k, type(b[k]["port"])) for b in taken for k in KEYS if k in b} == {(key, port_kind)}


def test_ftp_refused_stops_in_one_line_suggesting_sftp(sb_ftp_refused: Sandbox) -> None:
    settings = {"host": HOST, "port": 21, "username": USER, "password": PASSWORD}
    run = run_tap(tap_config(sb_ftp_refused, distribution_method="ftp", ftp_settings=settings))
    assert isinstance(run.error, EmarsysAPIError)
    message = str(run.error)
    assert "\n" not in message
    assert "Invalid distribution method: ftp" in message
    assert "set distribution_method to 'sftp'" in message
    assert PASSWORD not in message
    assert run.bookmark is None
    assert [status for status, _ in starts(sb_ftp_refused)] == [400]


@pytest.fixture
def sb_ftp_refused() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=5, refuse_ftp=True)) as sandbox:
        yield sandbox


@pytest.mark.parametrize("labelled_csv", [False, True])
def test_limit_answering_json_takes_the_query_form(labelled_csv: bool) -> None:
    config = SandboxConfig(
        days=1,
        per_day=40,
        download_row_cap=CAP,
        limit_answers_json=True,
        limit_json_labelled_csv=labelled_csv,
    )
    with Sandbox(config) as sb:
        run = run_tap(tap_config(sb, window_hours=24), row_caps=CAPS)
        exact(sb, run)
        pages = [e for e in sb.requests if "/data" in e.path and e.query.get("offset")]
    assert pages, "the capped download was paged"
    assert all("limit" not in e.query for e in pages)


@pytest.mark.parametrize("labelled_csv", [False, True])
def test_json_pages_are_never_read_as_csv(labelled_csv: bool) -> None:
    config = SandboxConfig(
        days=1,
        per_day=40,
        download_row_cap=CAP,
        paging_forms="path",  # the only form with limit, which answers JSON
        limit_answers_json=True,
        limit_json_labelled_csv=labelled_csv,
    )
    with Sandbox(config) as sb:
        run = run_tap(tap_config(sb, window_hours=24), row_caps=CAPS)
        truth = set(expected_keys(sb, sb.config.start, sb.config.start + dt.timedelta(days=1)))
        json_pages = [e for e in sb.requests if "limit=" in e.path and e.status == 200]
    assert isinstance(run.error, PagingError)
    message = str(run.error)
    assert "\n" not in message
    for words in ("window 1/1", "export 1000000", "JSON", "window_hours", "bookmark stays"):
        assert words in message
    assert json_pages, "the path form was asked and answered (with JSON)"
    assert set(record_keys(run)) <= truth, "no JSON text became a record"
    assert run.bookmark is None


@pytest.mark.parametrize("labelled_csv", [False, True])
def test_a_download_answered_with_json_stops_in_one_line(labelled_csv: bool) -> None:
    config = SandboxConfig(
        days=1, per_day=20, data_answers_json=True, limit_json_labelled_csv=labelled_csv
    )
    with Sandbox(config) as sb:
        run = run_tap(tap_config(sb, window_hours=24))
    assert isinstance(run.error, PagingError)
    message = str(run.error)
    assert "\n" not in message
    what = "JSON" if labelled_csv else "application/json"
    for words in ("window 1/1", "export 1000000", what, "not CSV", "bookmark stays"):
        assert words in message
    assert run.records == []
    assert run.bookmark is None


@pytest.mark.parametrize("form", ["spec", "integer", "string"])
def test_export_id_forms_and_an_unknown_status_type_are_taken_silently(
    form: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = SandboxConfig(days=1, per_day=20, export_id_form=form, status_type="contacts")
    with caplog.at_level(logging.WARNING), Sandbox(config) as sb:
        run = run_tap(tap_config(sb, window_hours=12))
        exact(sb, run)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("tap_emarsys")] == []
    ids = [state["bookmarks"] for state in run.states]
    assert ids, "STATE was written"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            "Missing parameter: sftp_settings",
            "'sftp_settings' is filled from the setting 'ftp_settings'",
        ),
        (
            "Unknown parameter: ftp_settings",
            "'ftp_settings' is filled from the setting 'ftp_settings'",
        ),
        (
            "Invalid data format for sftp_settings.port. String expected",
            "'sftp_settings.port' is filled from the setting 'ftp_settings.port'",
        ),
        ("Missing parameter: time_range", "settings 'start_date', 'end_date' and 'window_hours'"),
        ("Invalid value for delimiter: |", "'delimiter' is filled from the setting 'delimiter'"),
        ("Invalid distribution method: ftp", "set distribution_method to 'sftp'"),
    ],
)
def test_a_refused_parameter_is_named_with_the_setting_that_fills_it(text: str, named: str) -> None:
    error = EmarsysAPIError(
        status=400,
        reply_code=10001,
        reply_text=text,
        endpoint="contact/getregistrations",
        hint=hint(400, 10001, text, "contact/getregistrations"),
    )
    assert named in str(error)
    assert "api_url" not in str(error)


def test_the_form_switches_each_part_once_and_only_on_a_refusal_of_that_part() -> None:
    forms = RequestForms()
    first = forms.current
    assert (first.settings_key, first.port_as_string) == ("sftp_settings", True)
    assert not forms.learn(first, "Invalid value for sftp_settings.host: x"), "not the key"
    assert not forms.learn(first, "Invalid value for delimiter: |")
    assert forms.learn(first, "Missing parameter: ftp_settings")
    second = forms.current
    assert (second.settings_key, second.port_as_string) == ("ftp_settings", True)
    assert forms.learn(first, "Missing parameter: ftp_settings"), "another thread's stale form"
    assert not forms.learn(second, "Missing parameter: sftp_settings"), "the key switched once"
    assert forms.learn(second, "Invalid data format for ftp_settings.port. Integer expected")
    assert forms.current.port_as_string is False
    forms.worked(forms.current)
    assert not forms.learn(forms.current, "Missing parameter: sftp_settings"), "kept for the run"
    assert forms.current.render({"port": 22}) == ("ftp_settings", {"port": 22})
    assert RequestForm().render({"port": 22, "host": "h"}) == (
        "sftp_settings",
        {"port": "22", "host": "h"},
    )


@pytest.mark.parametrize(
    ("head", "is_json"),
    [
        (b'{"replyCode":0', True),
        (b'\xef\xbb\xbf [["1"', True),
        (b"[]", True),
        (b"user_id,First Name\r\n", False),
        (b"123,{braces}\r\n", False),
        (b"", False),
    ],
)
def test_json_is_told_from_csv_by_its_first_bytes(head: bytes, is_json: bool) -> None:
    assert looks_like_json(head) is is_json

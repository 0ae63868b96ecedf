"""The Emarsys API sandbox itself, over real sockets (it must be faithful to emarsys_api.md)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import requests

from sandbox import Faults, Sandbox, SandboxConfig, TruthRow, render_value
from sandbox.auth import wsse_digest, wsse_header
from sandbox.values import LONG_TEXT
from tests.clocks import VirtualClock

if TYPE_CHECKING:
    from collections.abc import Iterator

VIENNA = ZoneInfo("Europe/Vienna")
CREDS = ("sandbox-client", "sandbox-client-secret")
GRANT = {"grant_type": "client_credentials"}
FIELDS = [1, 2, 3, 4, 14, 18, 30, 31, 5001, 5003]
WINDOW = ["2024-03-29 00:00:00", "2024-03-30 00:00:00"]  # holds the quirky hourly specials
UNAUTHORIZED = {"replyCode": 1, "replyText": "Unauthorized", "data": ""}


def body(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"distribution_method": "local", "time_range": WINDOW}
    payload["contact_fields"] = FIELDS
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def now_created(shift: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=shift)).strftime("%Y-%m-%dT%H:%M:%SZ")


def wsse(created: str | None = None, secret: str = "sandbox-secret", nonce: str = "") -> str:
    nonce = nonce or os.urandom(16).hex()
    return wsse_header("sandbox001", secret, nonce, created or now_created())


class Api(requests.Session):
    """A tiny authenticated client: v3 with a bearer token or v2 with a fresh WSSE header."""

    def __init__(self, sb: Sandbox, version: str = "v3") -> None:
        super().__init__()
        self.sb, self.version, self.token = sb, version, ""
        if version == "v3":
            self.token = self.post(sb.token_url, auth=CREDS, data=GRANT).json()["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {"X-WSSE": wsse()}
        url = f"{self.sb.api_url}/{self.version}/{path}"
        return self.request(method, url, headers=auth, **kwargs)

    def export(self, **overrides: Any) -> int:
        reply = self.call("POST", "contact/getregistrations", json=body(**overrides))
        assert reply.status_code == 200, reply.text
        export_id = reply.json()["data"]["id"]
        assert isinstance(export_id, int)
        return export_id

    def status(self, export_id: int) -> Any:
        return self.call("GET", f"export/{export_id}").json()["data"]

    def download(self, **overrides: Any) -> requests.Response:
        export_id = self.export(**overrides)
        assert self.status(export_id)["status"] == "done"
        return self.call("GET", f"export/{export_id}/data")


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    # Every test's Api client takes a token of its own from this shared sandbox, so
    # the token-fetch limits (tested on sandboxes of their own) are off here.
    config = SandboxConfig(per_day=30, token_limit_per_minute=None, token_limit_per_hour=None)
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb: Sandbox) -> Iterator[Api]:
    sb.faults.reset()
    with Api(sb) as client:
        yield client
    sb.faults.reset()


def expected_rows(sb: Sandbox, time_range: list[str], bounds: str = "[]") -> list[TruthRow]:
    """Ground truth selected independently of the sandbox, with zoneinfo."""
    low, high = (datetime.fromisoformat(t) for t in time_range)
    rows = sb.truth(low.replace(tzinfo=UTC) - timedelta(hours=3), high.replace(tzinfo=UTC))
    selected = []
    for row in rows:
        local = row.registered_at.astimezone(VIENNA).replace(tzinfo=None)
        assert local == row.local_time
        after = low < local or (bounds[0] == "[" and local == low)
        if after and (local < high or (bounds[1] == "]" and local == high)):
            selected.append(row)
    return selected


def parse(content: bytes, delimiter: str = ",") -> list[list[str]]:
    text = io.StringIO(content.decode("utf-8-sig"), newline="")
    return list(csv.reader(text, delimiter=delimiter))


def rendered(row: TruthRow, fields: list[int], *, stamp: bool) -> list[str]:
    cells = [str(row.user_id), *(render_value(row.values[f]) for f in fields)]
    return cells + ([row.local_time.strftime("%Y-%m-%d %H:%M:%S")] if stamp else [])


def test_token_flow_and_bearer(sb: Sandbox) -> None:
    bad = requests.post(sb.token_url, auth=("x", "y"), data=GRANT)
    assert (bad.status_code, bad.json()) == (401, {"error": "invalid_client"})
    wrong = requests.post(sb.token_url, auth=CREDS, data={"grant_type": "password"})
    assert (wrong.status_code, wrong.json()) == (400, {"error": "unsupported_grant_type"})
    token = requests.post(sb.token_url, auth=CREDS, data=GRANT).json()
    assert (token["token_type"], token["expires_in"]) == ("bearer", 3600)
    url = f"{sb.api_url}/v3/field"
    ok = requests.get(url, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert (ok.status_code, ok.json()["replyCode"]) == (200, 0)
    basic = {"Authorization": f"Basic {token['access_token']}"}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-WSSE": wsse()}, basic):
        reply = requests.get(url, headers=headers)
        assert (reply.status_code, reply.json()) == (401, UNAUTHORIZED)


def test_wsse_known_answer_and_accepted_forms(sb: Sandbox) -> None:
    nonce, created = "a87ff679a2f3e71d9181a67b7542122c", "2016-07-20T12:34:56+00:00"
    expected = "NzVhOTg3Yjg2NTcyZmE1OWMwYzIxNWQ5ZDgyMzgxZWExOGI3NGFjZQ=="
    assert wsse_digest(nonce, created, "secret") == expected
    base = datetime.now(UTC)
    forms = [base.strftime("%Y-%m-%dT%H:%M:%S") + zone for zone in ("Z", "+00:00", "+0000")]
    forms.append(base.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    for created, name in itertools.product(forms, ("X-WSSE", "WSSE")):
        nonce = os.urandom(16).hex()
        digest = wsse_digest(nonce, created, sb.config.secret)
        header = f'UsernameToken created="{created}", nonce="{nonce}", '
        header += f'PASSWORDDIGEST="{digest}", Username="{sb.config.username}"'
        reply = requests.get(f"{sb.api_url}/v2/field", headers={name: header})
        assert reply.status_code == 200, (created, reply.text)


def wsse_get(sb: Sandbox, header: str) -> Any:
    return requests.get(f"{sb.api_url}/v2/field", headers={"X-WSSE": header}).json()


def test_wsse_rejections(sb: Sandbox) -> None:
    skewed = wsse_get(sb, wsse(now_created(-400)))
    assert skewed["replyText"] == "Unauthorized Time frame is invalid"
    assert wsse_get(sb, wsse(secret="bad")) == UNAUTHORIZED
    header = wsse()
    assert wsse_get(sb, header)["replyCode"] == 0
    assert wsse_get(sb, header)["replyText"] == "Unauthorized Nonce already used"


def test_server_clock_offset_and_token_expiry() -> None:
    config = SandboxConfig(clock_offset_seconds=900, token_ttl_seconds=0.5)
    virtual = VirtualClock()
    with Sandbox(config, clock=virtual.time) as sandbox, Api(sandbox) as api:
        assert api.call("GET", "field").status_code == 200
        assert wsse_get(sandbox, wsse())["replyCode"] == 1
        assert wsse_get(sandbox, wsse(now_created(900)))["replyCode"] == 0
        date = requests.get(f"{sandbox.base_url}/_sandbox/health").headers["Date"]
        skew = (parsedate_to_datetime(date) - datetime.now(UTC)).total_seconds()
        assert 890 < skew < 910
        virtual.sleep(0.6)
        assert api.call("GET", "field").json() == UNAUTHORIZED


EARLIER = "Invalid value for end_date: end_date is earlier than the start_date"
VALIDATION = [
    ({"distribution_method": None}, "Missing parameter: distribution_method"),
    ({"time_range": None}, "Missing parameter: time_range"),
    ({"contact_fields": None}, "Missing parameter: contact_fields"),
    ({"time_range": "2024-03-29"}, "Invalid data format for time_range. Array expected"),
    ({"time_range": ["2024-03-29"]}, "Invalid data format for time_range. Array size must be 2"),
    ({"distribution_method": "mail"}, "Invalid distribution method: mail"),
    ({"contact_fields": "1,2"}, "Invalid data format for contact_fields. Array expected"),
    ({"contact_fields": []}, "Invalid number of fields"),
    ({"contact_fields": [1, 27, "33", 9999]}, "Invalid contact field id: 27, 33, 9999"),
    ({"contact_fields": list(range(1, 22))}, "Invalid number of fields"),
    ({"time_range": ["24-03-29", "2024-03-30"]}, "Valid start_date and end_date is required"),
    ({"time_range": ["2024-03-30", "2024-03-30"]}, EARLIER),
    ({"delimiter": "|"}, "Invalid value for delimiter: |"),
    ({"with_timestamp": 2}, "Invalid value for with_timestamp: 2"),
    ({"add_field_names_header": "yes"}, "Invalid value for add_field_names_header: yes"),
    ({"contactlist": "abc"}, "Invalid data format for contactlist. Integer expected"),
]


@pytest.mark.parametrize(("overrides", "text"), VALIDATION)
def test_validation_table(api: Api, overrides: dict[str, Any], text: str) -> None:
    reply = api.call("POST", "contact/getregistrations", json=body(**overrides))
    expected = {"replyCode": 10001, "replyText": text, "data": ""}
    assert (reply.status_code, reply.json()) == (400, expected)


def test_payload_language_and_id_forms(api: Api) -> None:
    for payload in ([1, 2], b"{nope"):
        kwargs = {"data": payload} if isinstance(payload, bytes) else {"json": payload}
        reply = api.call("POST", "contact/getregistrations", **kwargs)
        assert (reply.status_code, reply.json()["replyText"]) == (400, "Invalid request payload")
        assert reply.json()["replyCode"] == 1010
    reply = api.call("POST", "contact/getregistrations", json=body(language="xx"))
    assert (reply.status_code, reply.json()["replyCode"]) == (400, 1002)
    assert api.export(contact_fields=[1, 3], time_range=["2024-03-29", "2024-03-29 12:30"]) > 0
    # The contract's integer ids: the strings of the older docs' examples are refused.
    reply = api.call("POST", "contact/getregistrations", json=body(contact_fields=["1", 3]))
    assert (reply.status_code, reply.json()["replyCode"]) == (400, 10001)
    text = reply.json()["replyText"]
    assert text == "Invalid data format for contact_fields[0]. Integer expected"


def test_identical_running_export_is_refused_and_status_progresses() -> None:
    config = SandboxConfig(export_delay_seconds=0.9)
    virtual = VirtualClock()
    with (
        Sandbox(config, clock=virtual.time) as sandbox,
        Api(sandbox, "v2") as api,
    ):  # v2 + WSSE for the whole flow
        export_id = api.export()
        again = api.call("POST", "contact/getregistrations", json=body())
        assert (again.status_code, again.json()["replyCode"]) == (400, 4001)
        assert api.call("GET", f"export/{export_id}/data").json()["replyCode"] == 4005
        seen: list[str] = []
        while not seen or seen[-1] != "done":
            data = api.status(export_id)
            assert (data["id"], data["type"]) == (str(export_id), "Registrations")
            assert (data["file_name"] is None) == (data["status"] != "done")
            seen.append(data["status"])
            virtual.sleep(0.05)
        assert list(dict.fromkeys(seen)) == ["scheduled", "in progress", "ready", "done"]
        datetime.strptime(data["created"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
        assert api.export() > export_id  # the finished twin no longer blocks


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize(("header", "stamp"), [(1, 1), (0, 1), (1, 0), (0, 0)])
def test_csv_matches_truth(api: Api, sb: Sandbox, delimiter: str, header: int, stamp: int) -> None:
    reply = api.download(delimiter=delimiter, add_field_names_header=header, with_timestamp=stamp)
    assert reply.headers["Content-Type"] == "text/csv;charset=UTF-8"
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    rows = parse(reply.content, delimiter)
    names = ["First Name", "Last Name", "E-Mail", "Date of Birth", "Country", "Company"]
    names += ["Response rate (% of campaigns sent)", "Opt-In", "Loyalty points", "Legacy notes"]
    if header:
        assert rows.pop(0) == ["user_id", *names, *(["last update"] if stamp else [])]
    truth = expected_rows(sb, WINDOW)
    assert rows == [rendered(row, FIELDS, stamp=bool(stamp)) for row in truth]
    quirks = {"Smith, John", "Semi;colon", 'Say "hi"', "Line1\nLine2", "Win\r\nBreak", "東京"}
    quirks |= {"Party 🎉", "  padded  ", LONG_TEXT}
    assert quirks <= {cell for row in rows for cell in row}


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_bom_lf_and_framings(api: Api, framing: str) -> None:
    reference = api.download().content
    config = SandboxConfig(per_day=30, bom=True, crlf=False, framing=framing, chunk_size=1000)
    with Sandbox(config) as sandbox, Api(sandbox) as other:
        reply = other.download()
    assert "Content-Length" not in reply.headers
    assert reply.content.startswith(b"\xef\xbb\xbfuser_id,")
    assert reply.content.split(b"\n", 1)[0].endswith(b"last update")
    assert parse(reply.content) == parse(reference)


@pytest.mark.parametrize("bounds", ["[]", "[)", "(]", "()"])
def test_bound_conventions_at_exact_edges(bounds: str) -> None:
    time_range = ["2024-03-30 00:00:00", "2024-03-31 00:00:00"]  # Vienna midnight specials
    with Sandbox(SandboxConfig(per_day=30, bounds=bounds)) as sandbox, Api(sandbox) as api:
        reply = api.download(time_range=time_range, contact_fields=[1])
        truth = expected_rows(sandbox, time_range, bounds)
    stamps = [row[-1] for row in parse(reply.content)][1:]
    assert ("2024-03-30 00:00:00" in stamps) == (bounds[0] == "[")
    assert ("2024-03-31 00:00:00" in stamps) == (bounds[1] == "]")
    assert stamps == [r.local_time.isoformat(sep=" ") for r in truth]


def test_dst_and_dataset_shape(sb: Sandbox) -> None:
    rows = sb.truth(sb.dataset.start, sb.dataset.end)
    assert rows == sorted(rows, key=lambda r: (r.registered_at, r.user_id))
    assert len(expected_rows(sb, ["2024-03-28", "2024-04-03"])) == len(rows)  # zoneinfo agrees
    moments = {r.registered_at for r in rows}
    first, hour = datetime(2024, 3, 29, tzinfo=UTC), timedelta(hours=1)
    assert {first + h * hour for h in range(24)} <= moments
    assert {datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC), first + 48 * hour + hour} <= moments
    assert max(Counter(r.user_id for r in rows).values()) >= 2  # contacts registering twice
    assert sb.truth(first, first + hour)[-1].registered_at < first + hour
    autumn = SandboxConfig(start=datetime(2024, 10, 26, tzinfo=UTC), days=2)
    with Sandbox(autumn) as sandbox:
        local = Counter(r.local_time for r in sandbox.truth(autumn.start, sandbox.dataset.end))
    assert local[datetime(2024, 10, 27, 2, 15)] >= 2  # noqa: DTZ001 - both 02:15 occurrences


def test_expiry_and_expire_now() -> None:
    config = SandboxConfig(per_day=5, export_expiry_seconds=0.5)
    virtual = VirtualClock()
    with Sandbox(config, clock=virtual.time) as sandbox, Api(sandbox) as api:
        export_id = api.export()
        assert api.status(export_id)["status"] == "done"
        assert api.call("GET", f"export/{export_id}/data").status_code == 200
        virtual.sleep(0.6)
        gone = api.call("GET", f"export/{export_id}/data")
        assert (gone.status_code, gone.json()["replyCode"]) == (410, 4003)
        assert api.status(export_id)["status"] == "done"
        sandbox.faults.expire_now = True
        assert api.download(contact_fields=[2]).status_code == 410


def test_rate_limit_headers_and_429() -> None:
    with Sandbox(SandboxConfig(rate_limit_per_minute=3)) as sandbox, Api(sandbox) as api:
        replies = [api.call("GET", "field") for _ in range(3)]  # the token request counted too
        assert [r.headers["X-Ratelimit-Remaining"] for r in replies] == ["1", "0", "0"]
        assert "X-Ratelimit-Remaining" in list(replies[0].headers)  # exact casing
        assert replies[0].headers["X-RateLimit-Limit"] == "3"
        assert int(replies[0].headers["X-RateLimit-Reset"]) > time.time()
        assert [r.status_code for r in replies] == [200, 200, 429]
        text = "Too many requests for this account and resource within the last minute."
        assert replies[2].json() == {"replyCode": 7003, "replyText": text, "data": ""}


def test_fault_switches(api: Api, sb: Sandbox) -> None:
    sb.faults.too_many_requests_burst = 1
    burst = api.call("GET", "field")
    assert burst.status_code == 429
    assert 0 < int(burst.headers["X-RateLimit-Reset"]) - time.time() <= 2.5
    assert api.call("GET", "field").status_code == 200
    sb.faults.error_rate_5xx = 1.0
    failed = api.call("GET", "field")
    assert (failed.status_code, failed.json()["replyCode"]) in ((500, 1), (502, 1003), (503, 1003))
    sb.faults = Faults(reply_code_error_rate=1.0)
    soft = api.call("GET", "field")
    assert (soft.status_code, soft.json()["replyCode"]) in ((200, 1003), (200, 2011))
    sb.faults = Faults(fail_next_exports=1)
    failed_id = api.export(contact_fields=[5])
    assert api.status(failed_id)["status"] == "error"
    assert api.call("GET", f"export/{failed_id}/data").json()["replyCode"] == 4006
    sb.faults.never_finish = True
    stuck_id = api.export(contact_fields=[6])
    assert api.status(stuck_id)["status"] == "in progress"
    sb.faults.never_finish = False
    assert api.status(stuck_id)["status"] == "done"


def test_dropped_download(api: Api, sb: Sandbox) -> None:
    sb.faults = Faults(drop_download_after_bytes=100, drop_download_count=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.download(contact_fields=[7])
    assert sb.faults.drop_download_after_bytes is None
    assert len(api.download(contact_fields=[8]).content) > 100
    with Sandbox(SandboxConfig(framing="close")) as sandbox, Api(sandbox) as other:
        sandbox.faults.drop_download_after_bytes = 100
        assert len(other.download().content) == 100


def test_permissions_forbidden() -> None:
    config = SandboxConfig(permissions=frozenset({"field.get"}))
    with Sandbox(config) as sandbox, Api(sandbox) as api:
        assert api.call("GET", "field").status_code == 200
        for method, path, permission in (
            ("GET", "field/translate/en", "field.list"),
            ("POST", "contact/getregistrations", "export.contact.registrations"),
            ("GET", "contactlist", "contactlist.list"),
        ):
            reply = api.call(method, path, json=body())
            assert reply.status_code == 403
            assert reply.json()["replyText"].endswith(f"lacks the permission {permission}")


def test_fields_languages_and_misc_errors(api: Api) -> None:
    by_id = {f["id"]: f for f in api.call("GET", "field/translate/fr").json()["data"]}
    assert set(by_id) == set(range(49)) | {5001, 5002, 5003, 5004, 5005} | set(range(6001, 6021))
    string_ids = [by_id[i]["string_id"] for i in (30, 14, 5003)]
    assert string_ids == [None, "country", None]
    assert (by_id[1]["name"], by_id[5005]["application_type"]) == ("First Name", "voucher")
    assert api.call("GET", "field/translate/de").json()["data"][1]["name"] == "Vorname"
    assert api.call("GET", "field/translate/xx").json()["replyCode"] == 1002
    german = api.download(language="de", contact_fields=[1, 3])
    assert german.text.startswith("user_id,Vorname,E-Mail,last update\r\n")
    unknown = api.call("GET", "export/42")
    assert (unknown.status_code, unknown.json()["replyText"]) == (400, "Invalid export ID")
    assert api.call("PUT", "field").json()["replyCode"] == 1009
    assert api.call("GET", "nothing").status_code == 404
    # The upload needs a username: it fails, so the export stays 'ready' without a file_name.
    ftp_id = api.export(distribution_method="ftp", ftp_settings={"host": "h", "folder": "f"})
    status = api.status(ftp_id)
    expected = ("ready", "h", "f", None)
    assert (
        status["status"],
        status["ftp_host"],
        status["ftp_dir"],
        status["file_name"],
    ) == expected
    assert api.call("GET", f"export/{ftp_id}/data").json()["replyCode"] == 4004


def test_request_log_and_control_endpoints(api: Api, sb: Sandbox) -> None:
    sb.clear_requests()
    api.call("GET", "field", params={"x": "1"})
    requests.get(f"{sb.base_url}/_sandbox/health")
    (entry,) = sb.requests
    summary = (entry.method, entry.path, entry.query, entry.status, entry.reply_code)
    assert summary == ("GET", "/api/v3/field", {"x": "1"}, 200, 0)
    assert entry.headers["Authorization"].startswith("Bearer ")
    over_http = requests.get(f"{sb.base_url}/_sandbox/requests").json()
    assert [e["path"] for e in over_http] == ["/api/v3/field"]
    requests.post(f"{sb.base_url}/_sandbox/requests/clear")
    assert sb.requests == []
    params = {"start": "2024-03-29T00:00:00Z", "end": "2024-03-29T02:00:00Z", "fields": "1,3"}
    truth = requests.get(f"{sb.base_url}/_sandbox/truth", params=params).json()
    start = datetime(2024, 3, 29, tzinfo=UTC)
    local = [r.user_id for r in sb.truth(start, start + timedelta(hours=2))]
    assert [row["user_id"] for row in truth] == local
    assert set(truth[0]["values"]) == {"1", "3"}


@pytest.mark.slow
def test_cli_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "sandbox", "--port", "0", "--per-day", "5"]
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root) as proc:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        health = requests.get(f"{info['base_url']}/_sandbox/health")
        assert (health.json(), info["client_id"]) == ({"status": "ok"}, "sandbox-client")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("forms", ["query", "path", "both", "none"])
@pytest.mark.parametrize("repeat", [True, False])
def test_row_cap_and_paging_forms(forms: str, repeat: bool) -> None:
    config = SandboxConfig(per_day=30, download_row_cap=5, paging_forms=forms)
    with Sandbox(replace(config, header_on_every_page=repeat)) as sandbox, Api(sandbox) as api:
        export_id = api.export()
        assert api.status(export_id)["status"] == "done"
        whole = [rendered(row, FIELDS, stamp=True) for row in expected_rows(sandbox, WINDOW)]
        first = parse(api.call("GET", f"export/{export_id}/data").content)
        assert first[1:] == whole[:5]  # header plus the cap of data rows
        query = api.call("GET", f"export/{export_id}/data?offset=5&limit=3")
        path = api.call("GET", f"export/{export_id}/data/offset=5&limit=3")
        page = ([first[0]] if repeat else []) + whole[5:8]
        assert parse(query.content) == (page if forms in {"query", "both"} else first)
        if forms in {"path", "both"}:
            assert parse(path.content) == page
        else:
            assert (path.status_code, path.json()["replyCode"]) == (404, 1)
        if forms != "none":  # offset alone: the rest, still cut at the cap
            suffix = "/offset=5" if forms == "path" else "?offset=5"
            rest = parse(api.call("GET", f"export/{export_id}/data{suffix}").content)
            assert rest == ([first[0]] if repeat else []) + whole[5:10]

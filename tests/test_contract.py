"""The contract as code (sandbox/contract.py): schemas, the sandbox's checks, the tap's bodies."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from sandbox import Sandbox, SandboxConfig, contract
from sandbox.app import SandboxApp
from sandbox.conformance import check_request, reply_problems, token_request_problems
from sandbox.replies import ApiError, ok
from tap_emarsys_registrations.emarsys.exports import ExportRequest
from tap_emarsys_registrations.emarsys.request_form import RequestForm
from tap_emarsys_registrations.settings.tap_settings import Settings
from tests.conftest import run_tap, tap_config

SCHEMAS = [
    contract.REGISTRATIONS_REQUEST,
    contract.START_REPLY,
    contract.STATUS_REPLY,
    contract.FIELD_LIST_REPLY,
    contract.TOKEN_REQUEST_FORM,
    contract.TOKEN_REQUEST_AUTHORIZATION,
]
GOOD: dict[str, Any] = {
    "distribution_method": "local",
    "time_range": ["2024-03-29", "2024-03-30 00:00"],
    "contact_fields": [1, 2],
}
SERVER = {"host": "sftp.example.com", "username": "u", "password": "p"}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: str(s["title"]))
def test_each_schema_is_valid_2020_12_open_and_strict(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    Draft202012Validator.check_schema(contract.strict(schema))
    assert schema["$schema"] == contract.DRAFT


def test_each_source_is_named_with_its_full_commit() -> None:
    doc = contract.__doc__ or ""
    for repo, path, commit in (contract.SPEC, contract.FIELDS_SPEC, contract.POSTMAN):
        assert re.fullmatch(r"[0-9a-f]{40}", commit)
        assert repo in doc
        assert path in doc
        assert commit in doc


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"time_range": ["2012-02-09garbage", "2012-03-01"]}, "time_range[0]: 2012-02-09garbage"),
        ({"time_range": ["2012-02-09 10", "2012-03-01"]}, "time_range[0]: 2012-02-09 10"),
        ({"time_range": ["2012-02-09"]}, "time_range. Array size must be 2"),
        ({"contact_fields": [1, 1]}, "contact_fields: the items must be distinct"),
        ({"contact_fields": list(range(1, 22))}, "Invalid number of fields"),
        ({"contact_fields": []}, "Invalid number of fields"),
        ({"contact_fields": ["1"]}, "contact_fields[0]. Integer expected"),
        ({"distribution_method": "mail"}, "Invalid distribution method: mail"),
        ({"with_timestamp": True}, "with_timestamp. Integer expected"),
        ({"language": "eng"}, "Invalid value for language: eng"),
        ({"delimiter": "|"}, "Invalid value for delimiter: |"),
        ({"sftp_settings": SERVER, "ftp_settings": SERVER}, "both given"),
        ({"sftp_settings": SERVER | {"port": 22.5}}, "sftp_settings.port. Integer or String"),
        ({"sftp_settings": SERVER | {"port": "22a"}}, "Invalid value for sftp_settings.port: 22a"),
        ({"contactlist": "abc"}, "Invalid value for contactlist: abc"),
        ({"contactlist": 1.5}, "contactlist. Integer or String expected"),
        ({"time_range": None}, "Missing parameter: time_range"),
    ],
)
def test_a_body_outside_the_schema_is_refused_naming_the_parameter(
    change: dict[str, Any], text: str
) -> None:
    body = {k: v for k, v in (GOOD | change).items() if v is not None}
    with pytest.raises(ApiError) as refused:
        check_request(body, closed=False)
    assert (refused.value.status, refused.value.reply_code) == (400, 10001)
    assert text in refused.value.text


def test_each_documented_reading_is_accepted() -> None:
    for change in (
        {"distribution_method": "ftp", "ftp_settings": SERVER | {"port": 21}},
        {"distribution_method": "sftp", "sftp_settings": SERVER | {"port": "22"}},
        {"distribution_method": "sftp", "ftp_settings": SERVER | {"port": 22}},
        {"contactlist": "123"},
        {"contactlist": 123},
        {"time_range": ["2024-03-29 00:00:00", "2024-03-29 12:30"]},
    ):
        check_request(GOOD | change, closed=True)


def test_strict_mode_refuses_parameters_outside_the_schema() -> None:
    unknown = GOOD | {"origin": "form"}
    check_request(unknown, closed=False)
    with pytest.raises(ApiError, match="Unknown parameter: origin"):
        check_request(unknown, closed=True)
    nested = GOOD | {"distribution_method": "sftp", "sftp_settings": SERVER | {"tls": 1}}
    with pytest.raises(ApiError, match=r"Unknown parameter: sftp_settings\.tls"):
        check_request(nested, closed=True)


@pytest.mark.parametrize("method", ["local", "ftp", "sftp"])
def test_every_body_the_tap_sends_holds_to_the_strict_schema(sandbox: Sandbox, method: str) -> None:
    config = tap_config(sandbox, distribution_method=method, contactlist=123)
    if method != "local":
        config["ftp_settings"] = SERVER | {"port": 2222, "folder": "out"}
    options = Settings.from_config(config).export
    request = ExportRequest(("2024-03-29 00:00", "2024-03-29 12:00:00"), (1, 2, 3), options)
    keys = contract.SETTINGS_KEYS
    forms = [RequestForm(key, as_string) for key in keys for as_string in (True, False)]
    bodies = [request.body(), *(request.body(form) for form in forms)]
    for body in bodies:
        check_request(body, closed=True)
    sent = set()
    for body in bodies[1:]:
        named = [key for key in keys if key in body]
        assert len(named) == (0 if method == "local" else 1), "never both keys"
        sent |= {(key, type(body[key]["port"])) for key in named}
    if method == "sftp":
        assert sent == {(key, kind) for key in keys for kind in (str, int)}
    if method == "ftp":  # the older docs' form, the only one for ftp
        assert sent == {("ftp_settings", int)}


def test_reply_schemas_take_each_reading_and_refuse_drift() -> None:
    assert (
        reply_problems("export.start", {"replyCode": 0, "replyText": "OK", "data": {"id": 7}}) == []
    )
    assert (
        reply_problems("export.start", {"replyCode": 0, "replyText": "OK", "data": {"id": "7"}})
        == []
    )
    status = {"id": 7, "status": "in_progress", "type": "contacts", "file_name": None}
    assert reply_problems("export.status", ok_payload(status)) == []
    assert reply_problems("export.status", ok_payload(status | {"id": "7"})) == []
    fields = [{"id": 14, "name": "Country"}, {"id": "3", "name": "E-Mail", "string_id": "email"}]
    assert reply_problems("field.list", ok_payload(fields)) == []
    for kind, payload in (
        ("export.status", ok_payload(status | {"status": "finished"})),
        ("export.status", ok_payload({"status": "done"})),
        ("export.start", ok_payload({"id": "seven"})),
        ("export.start", {"replyCode": 0, "replyText": "OK", "data": {"id": 7}, "extra": 1}),
        ("field.list", ok_payload([{"id": "x", "name": "n"}])),
    ):
        assert reply_problems(kind, payload), payload


def ok_payload(data: object) -> dict[str, Any]:
    return {"replyCode": 0, "replyText": "OK", "data": data}


def test_a_reply_that_breaks_the_contract_is_a_500_and_fails_the_test() -> None:
    app = SandboxApp(SandboxConfig(days=1, per_day=1))
    reply = app.checked_reply("export.status", ok({"id": "1", "status": "finished"}))
    assert (reply.status, reply.reply_code) == (500, 1003)
    assert b"breaks the contract" in reply.body
    assert app.contract_violations
    sandbox = Sandbox(SandboxConfig(days=1, per_day=1))
    with pytest.raises(AssertionError, match="broke the reply contract"), sandbox:
        sandbox.app.checked_reply("export.contact.registrations", ok({"id": None}))


@pytest.mark.parametrize("form", ["spec", "integer", "string"])
def test_the_sandbox_sends_each_export_id_form_within_the_contract(form: str) -> None:
    config = SandboxConfig(days=1, per_day=5, export_id_form=form, status_type="Contacts")
    with Sandbox(config) as sb, requests.Session() as http:
        credentials = (config.client_id, config.client_secret)
        grant = {"grant_type": "client_credentials"}
        token = http.post(sb.token_url, auth=credentials, data=grant).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        started = http.post(f"{sb.api_url}/v3/contact/getregistrations", json=GOOD).json()
        export_id = started["data"]["id"]
        status = http.get(f"{sb.api_url}/v3/export/{export_id}").json()["data"]
        fields = http.get(f"{sb.api_url}/v3/field/translate/en").json()
    expected = {"spec": (int, str), "integer": (int, int), "string": (str, str)}[form]
    assert (type(export_id), type(status["id"])) == expected
    assert status["type"] == "Contacts"
    assert reply_problems("export.start", started) == reply_problems("field.list", fields) == []
    assert sb.contract_violations == []


def test_the_tap_token_request_follows_the_postman_collection(sandbox: Sandbox) -> None:
    end = sandbox.config.start + dt.timedelta(hours=6)
    run = run_tap(tap_config(sandbox, end_date=end.isoformat()))
    assert run.error is None
    request = sandbox.token_requests[0]
    assert request.form_body == {"grant_type": "client_credentials"}
    assert token_request_problems(request.form_body, request.headers.get("Authorization")) == []
    refused = requests.post(
        sandbox.token_url,
        auth=(sandbox.config.client_id, sandbox.config.client_secret),
        data={"grant_type": "client_credentials", "scope": "export"},
    )
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_request"})


def test_the_suite_runs_the_sandbox_in_strict_contract_mode(sandbox: Sandbox) -> None:
    for config in (SandboxConfig(), sandbox.config):
        assert config.strict_contract
        assert config.check_replies
    assert SandboxConfig().sftp_settings_key == "either"


SFTP_BODY = GOOD | {"distribution_method": "sftp"}


@pytest.mark.parametrize(
    ("switches", "change", "text"),
    [
        (
            {"sftp_settings_key": "sftp_settings"},
            {"ftp_settings": SERVER},
            "Missing parameter: sftp_settings",
        ),
        (
            {"sftp_settings_key": "ftp_settings"},
            {"sftp_settings": SERVER},
            "Missing parameter: ftp_settings",
        ),
        (
            {"sftp_settings_key": "sftp_settings_strict"},
            {"ftp_settings": SERVER},
            "Unknown parameter: ftp_settings",
        ),
        ({"sftp_settings_key": "either"}, {}, "Missing parameter: sftp_settings"),
        (
            {"sftp_port_type": "string"},
            {"sftp_settings": SERVER | {"port": 22}},
            "sftp_settings.port. String expected",
        ),
        (
            {"sftp_port_type": "integer"},
            {"ftp_settings": SERVER | {"port": "22"}},
            "ftp_settings.port. Integer expected",
        ),
        (
            {"refuse_ftp": True},
            {"distribution_method": "ftp", "ftp_settings": SERVER},
            "Invalid distribution method: ftp",
        ),
        (
            {"strict_contract": False, "sftp_settings_key": "sftp_settings_strict"},
            {"sftp_settings": SERVER, "origin": "form"},
            "Unknown parameter: origin",
        ),
    ],
)
def test_each_contract_switch_answers_like_emarsys_answers_bad_input(
    switches: dict[str, Any], change: dict[str, Any], text: str
) -> None:
    config = SandboxConfig(days=1, per_day=1, **switches)
    with Sandbox(config) as sb:
        credentials = (config.client_id, config.client_secret)
        grant = {"grant_type": "client_credentials"}
        token = requests.post(sb.token_url, auth=credentials, data=grant).json()["access_token"]
        reply = requests.post(
            f"{sb.api_url}/v3/contact/getregistrations",
            json=SFTP_BODY | change,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (reply.status_code, reply.json()["replyCode"]) == (400, 10001)
    assert text in reply.json()["replyText"]


def test_outside_strict_mode_unknown_parameters_pass() -> None:
    config = SandboxConfig(days=1, per_day=1, strict_contract=False)
    with Sandbox(config) as sb:
        credentials = (config.client_id, config.client_secret)
        grant = {"grant_type": "client_credentials"}
        token = requests.post(sb.token_url, auth=credentials, data=grant).json()["access_token"]
        reply = requests.post(
            f"{sb.api_url}/v3/contact/getregistrations",
            json=GOOD | {"origin": "form"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert reply.status_code == 200, reply.text

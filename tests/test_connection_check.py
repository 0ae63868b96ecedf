"""`--test` checks credentials, catalog and permissions without starting an export."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.emarsys.permissions import probe_permissions
from tap_emarsys_registrations.errors import EmarsysAPIError, TokenUnavailableError
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.cli import run_cli, write_config
from tests.clocks import FAST_CLOCK, VirtualClock
from tests.conftest import tap_config

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.emarsys.permissions import PermissionReport

NEEDED = {"field.list", "export.contact.registrations", "export.status", "export.download"}


def _cli(
    tmp_path: Path, sb: Sandbox, *args: str, auth: str = "oauth", **overrides: Any
) -> subprocess.CompletedProcess[str]:
    return run_cli(write_config(tmp_path, tap_config(sb, auth=auth, **overrides)), *args)


def _exports_started(sb: Sandbox) -> int:
    return sum(
        e.method == "POST" and e.path.endswith("/contact/getregistrations") and e.status == 200
        for e in sb.requests
    )


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("auth", ["oauth", "wsse"])
def test_connection_test_passes_without_starting_an_export(tmp_path: Path, auth: str) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=frozenset(NEEDED))) as sb:
        result = _cli(tmp_path, sb, "--test", auth=auth)
        assert result.returncode == 0, result.stderr
        assert "Connection test passed" in result.stderr
        assert _exports_started(sb) == 0
        assert not sb.export_jobs
        assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


def _probe(
    sb: Sandbox,
    faults: dict[str, object] | None = None,
    clock: Clock = FAST_CLOCK,
    **overrides: Any,
) -> PermissionReport:
    config = tap_config(sb, **overrides)
    tap = TapEmarsysRegistrations(config=config, clock=clock, setup_mapper=False)
    sb.faults.update(faults or {})
    return probe_permissions(tap.client)


def _probes_sent(sb: Sandbox) -> int:
    return sum(e.path.startswith("/api/") for e in sb.requests)


def test_every_permission_is_proven_by_an_answer_on_the_happy_path() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=frozenset(NEEDED))) as sb:
        report = _probe(sb)
        assert report.missing == []
        assert report.unchecked == {}
        # Three of the four probes are proven by a content error, not by a 2xx.
        assert sorted(e.status for e in sb.requests if e.path.startswith("/api/")) == [
            200,
            400,
            400,
            400,
        ]


def test_a_403_is_missing_and_the_others_still_proven() -> None:
    granted = frozenset(NEEDED - {"export.status"})
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=granted)) as sb:
        report = _probe(sb)
        assert report.missing == ["export.status"]
        assert report.unchecked == {}


def test_server_errors_after_retries_prove_nothing() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        report = _probe(sb, {"error_rate_5xx": 1.0})
        assert report.missing == []
        assert sorted(report.unchecked) == sorted(NEEDED)
        assert all("kept failing after 3 attempts" in r for r in report.unchecked.values())
        assert all("HTTP 50" in r for r in report.unchecked.values())
        assert _probes_sent(sb) == 4 * 3


def test_a_429_burst_is_waited_out_and_never_taken_as_proof() -> None:
    granted = frozenset(NEEDED - {"export.download"})
    virtual = VirtualClock()
    config = SandboxConfig(days=1, per_day=5, permissions=granted)
    with Sandbox(config, clock=virtual.time) as sb:
        faults: dict[str, object] = {"too_many_requests_burst": 3, "reset_after_seconds": 5.0}
        report = _probe(sb, faults, clock=virtual.clock())
        assert report.missing == ["export.download"]
        assert report.unchecked == {}
        log = sb.requests
        limited = [i for i, e in enumerate(log) if e.status == 429]
        assert len(limited) == 3
        for i in limited:  # each retry waited for the advertised reset
            assert log[i + 1].server_time >= log[i].server_time + 5.0


@pytest.mark.parametrize(
    ("fault", "value", "reason"),
    [("drop_connections", True, "ConnectionError"), ("stall_seconds", 0.3, "Timeout")],
)
def test_timeouts_and_dropped_connections_prove_nothing(
    fault: str, value: object, reason: str
) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        # A stalled reply never comes within the 0.05 s timeout, however busy the machine.
        report = _probe(sb, {fault: value}, request_timeout_seconds=0.05)
        assert sorted(report.unchecked) == sorted(NEEDED)
        assert all(reason in r for r in report.unchecked.values()), report.unchecked
        assert report.missing == []


def test_a_404_without_a_content_reply_code_proves_nothing() -> None:
    """A wrong api_url reaches no Emarsys resource: 404 / replyCode 1 'Not Found'."""
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        report = _probe(sb, api_url=sb.base_url + "/elsewhere")
        assert sorted(report.unchecked) == sorted(NEEDED)
        assert all("HTTP 404, replyCode 1" in r for r in report.unchecked.values())
        assert report.missing == []


def test_bad_credentials_fail_outright() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        with pytest.raises(EmarsysAPIError) as raised:
            _probe(sb, client_secret="wrong")
        assert raised.value.status == 401
        assert _probes_sent(sb) == 0
        assert [e.status for e in sb.requests] == [401]  # the token request only


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"error_rate_5xx": 1.0}, "HTTP 50"),
        ({"drop_connections": True}, "connection failed"),
        ({"stall_seconds": 1.0}, "connection failed (ReadTimeout)"),
    ],
)
def test_cli_connection_test_fails_in_one_line_when_nothing_can_be_checked(
    tmp_path: Path, faults: dict[str, object], reason: str
) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        sb.faults.update(faults)
        result = _cli(tmp_path, sb, "--test", request_timeout_seconds=0.3)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        failures = [line for line in result.stderr.splitlines() if "Connection test failed" in line]
        assert len(failures) == 1
        for permission in sorted(NEEDED):
            assert f"could not check {permission}: " in failures[0]
        assert reason in failures[0]
        assert "Connection test passed" not in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_cli_connection_test_passes_after_a_429_burst(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        sb.faults.update({"too_many_requests_burst": 3, "reset_after_seconds": 0.5})
        result = _cli(tmp_path, sb, "--test")
        assert result.returncode == 0, result.stderr
        assert "Connection test passed" in result.stderr
        assert sum(e.status == 429 for e in sb.requests) == 3


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_missing_permissions_are_named(tmp_path: Path) -> None:
    granted = frozenset(NEEDED - {"export.download", "export.contact.registrations"})
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=granted)) as sb:
        result = _cli(tmp_path, sb, "--test")
        assert result.returncode == 1
        assert "export.contact.registrations, export.download" in result.stderr
        assert "Traceback" not in result.stderr
        assert not sb.export_jobs


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_schema_test_writes_the_schema_and_starts_no_export(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        result = _cli(tmp_path, sb, "--test=schema")
        assert result.returncode == 0, result.stderr
        messages = [json.loads(line) for line in result.stdout.splitlines()]
        assert [m["type"] for m in messages] == ["SCHEMA"]
        assert "loyalty_points" in messages[0]["schema"]["properties"]
        assert _exports_started(sb) == 0


@pytest.mark.parametrize(
    ("fault", "token_requests"),
    [("token_budget_spent", 1), ("token_endpoint_down", 3)],
)
def test_without_a_token_no_probe_is_tried_and_few_token_requests_are_sent(
    fault: str, token_requests: int
) -> None:
    # Each probe would otherwise ask for a token again, and the tap's own ledger
    # would then wait a minute before the next token request.
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=frozenset(NEEDED))) as sb:
        with pytest.raises(TokenUnavailableError) as raised:
            _probe(sb, {fault: True})
        assert len(sb.token_requests) == token_requests
        assert _probes_sent(sb) == 0
        assert "could not check" not in str(raised.value)

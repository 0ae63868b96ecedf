"""`--test` checks credentials, catalog and permissions without starting an export."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from sandbox import Sandbox, SandboxConfig
from tests.conftest import tap_config

if TYPE_CHECKING:
    from pathlib import Path

NEEDED = {"field.list", "export.contact.registrations", "export.status", "export.download"}


def _cli(
    tmp_path: Path, sb: Sandbox, *args: str, auth: str = "oauth"
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(sb, auth=auth)))
    return subprocess.run(
        [sys.executable, "-m", "tap_emarsys_registrations", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _exports_started(sb: Sandbox) -> int:
    return sum(
        e.method == "POST" and e.path.endswith("/contact/getregistrations") and e.status == 200
        for e in sb.requests
    )


@pytest.mark.parametrize("auth", ["oauth", "wsse"])
def test_connection_test_passes_without_starting_an_export(tmp_path: Path, auth: str) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=frozenset(NEEDED))) as sb:
        result = _cli(tmp_path, sb, "--test", auth=auth)
        assert result.returncode == 0, result.stderr
        assert "Connection test passed" in result.stderr
        assert _exports_started(sb) == 0
        assert not sb.export_jobs
        assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


def test_missing_permissions_are_named(tmp_path: Path) -> None:
    granted = frozenset(NEEDED - {"export.download", "export.contact.registrations"})
    with Sandbox(SandboxConfig(days=1, per_day=5, permissions=granted)) as sb:
        result = _cli(tmp_path, sb, "--test")
        assert result.returncode == 1
        assert "export.contact.registrations, export.download" in result.stderr
        assert "Traceback" not in result.stderr
        assert not sb.export_jobs


def test_schema_test_writes_the_schema_and_starts_no_export(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        result = _cli(tmp_path, sb, "--test=schema")
        assert result.returncode == 0, result.stderr
        messages = [json.loads(line) for line in result.stdout.splitlines()]
        assert [m["type"] for m in messages] == ["SCHEMA"]
        assert "loyalty_points" in messages[0]["schema"]["properties"]
        assert _exports_started(sb) == 0

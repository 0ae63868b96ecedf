"""README "Moving from WSSE to OAuth", run as written in a fresh Meltano project.

The project starts on WSSE, runs once, then the README's block moves it to OAuth;
the next run continues from the same Meltano state, through API v3 only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from sandbox import Sandbox, SandboxConfig
from tests.conftest import expected_keys
from tests.readme_blocks import readme_block

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[1]
MELTANO_BIN = Path(os.environ.get("MELTANO_BIN", REPO / ".venv-meltano" / "bin" / "meltano"))
PLUGIN = "tap-emarsys-registrations"
WARNING = "Emarsys retires WSSE"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def extractor_definition() -> dict[str, Any]:
    """This repository's extractor definition, installable from any folder."""
    definition = yaml.safe_load((REPO / "meltano.yml").read_text())
    [extractor] = definition["plugins"]["extractors"]
    extractor["pip_url"] = f"-c {REPO}/constraints/tap.txt -e {REPO}"
    return dict(extractor)


class Project:
    """A Meltano project on WSSE credentials, pointed at a sandbox."""

    def __init__(self, root: Path, sb: Sandbox) -> None:
        self.root, self.sb = root, sb
        extractor = extractor_definition()
        extractor["config"] = {
            "api_url": sb.api_url,
            "token_url": sb.token_url,
            "username": sb.config.username,
            "start_date": sb.config.start.isoformat(),
            "end_date": (sb.config.start + dt.timedelta(days=2)).isoformat(),
            "poll_interval_seconds": 0.2,
        }
        project = {
            "version": 1,
            "project_id": "wsse-to-oauth",
            "plugins": {"extractors": [extractor]},
        }
        (root / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
        (root / ".env").write_text(f"TAP_EMARSYS_REGISTRATIONS_SECRET={sb.config.secret}\n")
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith("TAP_EMARSYS_REGISTRATIONS_")
        }
        self.env |= {
            "PATH": f"{MELTANO_BIN.parent}{os.pathsep}{os.environ['PATH']}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "EMARSYS_CLIENT_ID": sb.config.client_id,
            "EMARSYS_CLIENT_SECRET": sb.config.client_secret,
        }

    def shell(self, script: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done

    def sync(self, state: Path) -> tuple[list[dict[str, Any]], str]:
        """Run ``meltano invoke`` with a state file; return its messages and its stderr."""
        done = self.shell(f"meltano invoke {PLUGIN} --state {state}")
        messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        states = [m["value"] for m in messages if m["type"] == "STATE"]
        if states:
            state.write_text(json.dumps(states[-1]))
        return messages, done.stderr


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with Sandbox(SandboxConfig(days=2, per_day=20)) as sb:
        (tmp_path / "project").mkdir()
        project = Project(tmp_path / "project", sb)
        project.shell(f"meltano install --plugin-type extractor {PLUGIN}")
        yield project


def test_the_readme_moves_a_wsse_project_to_oauth_and_state_carries_over(
    project: Project, tmp_path: Path
) -> None:
    sb = project.sb
    state = tmp_path / "state.json"
    state.write_text("{}")
    first_day = sb.config.start + dt.timedelta(days=1)
    # Day one on WSSE: the warning, once; the bookmark at the end of the day.
    project.shell(f"meltano config set {PLUGIN} end_date {first_day.isoformat()}")
    messages, stderr = project.sync(state)
    assert sum(WARNING in line for line in stderr.splitlines()) == 1
    wsse_keys = [
        (m["record"]["user_id"], m["record"]["registered_at"])
        for m in messages
        if m["type"] == "RECORD"
    ]
    assert sorted(wsse_keys) == expected_keys(sb, sb.config.start, first_day)
    assert {e.path.split("/")[2] for e in sb.requests} == {"v2"}

    # The README's block, as written.
    sb.faults.wsse_retired = True  # from here on Emarsys refuses WSSE
    sb.clear_requests()
    moved = project.shell(readme_block("wsse-to-oauth"))
    assert "Connection test passed" in moved.stdout + moved.stderr
    assert WARNING not in moved.stderr
    [extractor] = yaml.safe_load((project.root / "meltano.yml").read_text())["plugins"][
        "extractors"
    ]
    assert extractor["config"]["client_id"] == sb.config.client_id
    assert "username" not in extractor["config"]
    dotenv = (project.root / ".env").read_text()
    assert "TAP_EMARSYS_REGISTRATIONS_SECRET=" not in dotenv
    assert "TAP_EMARSYS_REGISTRATIONS_CLIENT_SECRET=" in dotenv
    assert sb.config.secret not in (project.root / ".env").read_text()
    assert sb.config.client_secret in (project.root / ".env").read_text()

    # Day two on OAuth, from the same state.
    second_day = first_day + dt.timedelta(days=1)
    project.shell(f"meltano config set {PLUGIN} end_date {second_day.isoformat()}")
    messages, stderr = project.sync(state)
    assert WARNING not in stderr
    oauth_keys = [
        (m["record"]["user_id"], m["record"]["registered_at"])
        for m in messages
        if m["type"] == "RECORD"
    ]
    assert sorted(oauth_keys) == expected_keys(sb, first_day, second_day)
    assert not [e for e in sb.requests if e.path.startswith("/api/v2/")]
    # The connection test's probe posts an empty body; the sync posts one export.
    posts = [e for e in sb.requests if e.path.endswith("getregistrations") and e.json_body]
    assert [e.json_body["time_range"][0][:10] for e in posts] == [  # type: ignore[index]
        first_day.strftime("%Y-%m-%d")
    ]

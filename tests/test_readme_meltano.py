"""README's Meltano commands, run as written on the pinned Meltano, in a new project.

The blocks marked ``<!-- readme-test: meltano-add -->`` and ``meltano-configure`` run
in order in a project made by ``meltano init``, with ``plugin.yml`` beside it and the built wheel as
``pip_url`` (the edit README asks for between the two blocks). Only the
placeholders change: the credentials become the sandbox's, and its URLs come
from the environment.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from typing import TYPE_CHECKING

import pytest
import yaml

from sandbox import Sandbox, SandboxConfig
from tests.conftest import UTC, shared_token_cache
from tests.distribution import build
from tests.meltano_project import REPO, commands, meltano
from tests.readme_blocks import readme_block

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

START = dt.datetime(2024, 3, 29, tzinfo=UTC)
PLUGIN = "tap-emarsys-registrations"

# meltano install and the build run within 600 s each
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield from shared_token_cache(tmp_path_factory)


def _env(sb: Sandbox) -> dict[str, str]:
    return {
        **os.environ,
        "TAP_EMARSYS_REGISTRATIONS_API_URL": sb.api_url,
        "TAP_EMARSYS_REGISTRATIONS_TOKEN_URL": sb.token_url,
        "TAP_EMARSYS_REGISTRATIONS_END_DATE": (START + dt.timedelta(days=1)).isoformat(),
        "TAP_EMARSYS_REGISTRATIONS_POLL_INTERVAL_SECONDS": "1",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def test_the_readme_meltano_walkthrough_runs_as_written(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    blocks = [readme_block("meltano-add"), readme_block("meltano-configure")]
    wheel = build(tmp_path_factory.mktemp("dist")).wheel
    root = tmp_path_factory.mktemp("user")
    with Sandbox(SandboxConfig(start=START, days=1, per_day=12)) as sb:
        env = _env(sb)
        meltano(root, ["meltano", "init", "my-project", "--no-usage-stats"], env)
        project = root / "my-project"
        shutil.copy(REPO / "plugin.yml", project / "plugin.yml")  # as downloaded

        outputs = [meltano(project, words, env) for words in commands(blocks[0])]
        definition = yaml.safe_load((project / "meltano.yml").read_text())
        plugins = definition["plugins"]
        assert set(plugins) == {"extractors"}, "no utility is added beside the extractor"
        assert [p["name"] for p in plugins["extractors"]] == [PLUGIN]
        assert not (project / ".meltano" / "extractors" / PLUGIN).exists(), "not installed yet"

        # README: "change pip_url in your meltano.yml now" - to the built wheel.
        plugins["extractors"][0]["pip_url"] = f"-c {REPO}/constraints/runtime.txt {wheel}"
        (project / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False))

        placeholders = {
            "YOUR_CLIENT_ID": sb.config.client_id,
            "YOUR_CLIENT_SECRET": sb.config.client_secret,
        }
        outputs.extend(
            meltano(project, [placeholders.get(w, w) for w in words], env)
            for words in commands(blocks[1])
        )
        printed = [o.stdout + o.stderr for o in outputs]

    assert (project / ".meltano" / "extractors" / PLUGIN / "venv").is_dir()
    meltano_yml = (project / "meltano.yml").read_text()
    assert sb.config.client_secret not in meltano_yml, "the secret went to .env"
    assert sb.config.client_secret in (project / ".env").read_text()
    selected = next(p for p in printed if "Enabled patterns" in p)
    assert "[selected   ] registrations.email" in selected
    assert "[selected   ] registrations.first_name" in selected
    assert "registrations.last_name" not in selected
    assert any("Connection test passed" in p for p in printed)

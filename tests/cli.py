"""The tap's command line in a subprocess, as a user runs it (slow-tier tests only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TAP = [sys.executable, "-m", "tap_emarsys_registrations"]
ENV_PREFIX = "TAP_EMARSYS_REGISTRATIONS_"


def write_config(folder: Path, config: dict[str, Any], name: str = "config.json") -> Path:
    """Write ``config`` as the JSON file a user hands to ``--config``."""
    path = folder / name
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def cli_env(*, debug: bool = False) -> dict[str, str]:
    """This environment without the tap's own variables, so a shell's settings cannot leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    if debug:
        env[ENV_PREFIX + "LOGLEVEL"] = "DEBUG"
    return env


def run_cli(
    config: Path, *args: str, debug: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``tap-emarsys-registrations --config CONFIG ARGS`` and return what it printed."""
    return subprocess.run(
        [*TAP, "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env(debug=debug),
        timeout=timeout,
        check=False,
    )

"""The installed dependency set is consistent, and `backoff` comes from one distribution."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_pip_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_python_backoff_provides_the_backoff_module() -> None:
    providers = sorted(
        dist.metadata["Name"]
        for dist in importlib.metadata.distributions()
        if any(str(f).split("/")[0] in {"backoff", "backoff.py"} for f in (dist.files or []))
    )
    assert providers == ["python-backoff"]

"""tap.py, meltano.yml, plugin.yml and the README settings table agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_emarsys_registrations.tap import TapEmarsysRegistrations

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {"client_secret", "secret", "ftp_settings.password", "token_cache_url"}


BUILTIN = ("stream_maps", "stream_map_config", "faker_config", "flattening_")


def _tap_settings() -> dict[str, dict[str, Any]]:
    """The tap's own settings (the SDK appends its built-in ones to the same schema).

    An object's properties are settings of their own, named with dots (``ftp_settings.host``).
    """
    properties: dict[str, dict[str, Any]] = TapEmarsysRegistrations.config_jsonschema["properties"]
    flat: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        for key, value in spec.get("properties", {name: spec}).items():
            flat[f"{name}.{key}" if "properties" in spec else name] = value
    return {name: spec for name, spec in flat.items() if not name.startswith(BUILTIN)}


def _extractor(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if "plugins" in data:
        extractor: dict[str, Any] = data["plugins"]["extractors"][0]
        return extractor
    return data  # type: ignore[no-any-return]


@pytest.mark.slow
def test_generated_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/plugin_definition.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_setting_is_declared_with_its_default_and_sensitivity() -> None:
    tap = _tap_settings()
    for path in (ROOT / "meltano.yml", ROOT / "plugin.yml"):
        declared = {s["name"]: s for s in _extractor(path)["settings"]}
        assert set(declared) == set(tap), path.name
        for name, spec in tap.items():
            assert declared[name].get("sensitive", False) == (name in SECRETS), (path.name, name)
            assert declared[name].get("value") == spec.get("default"), (path.name, name)
            assert declared[name]["description"] == spec["description"]
        assert {n for n, s in declared.items() if s.get("sensitive")} == SECRETS


def test_capabilities_are_the_real_ones() -> None:
    capabilities = {str(c.value) for c in TapEmarsysRegistrations.capabilities}
    assert "batch" not in capabilities
    for path in (ROOT / "meltano.yml", ROOT / "plugin.yml"):
        assert set(_extractor(path)["capabilities"]) == capabilities


@pytest.mark.slow
def test_readme_settings_table_is_the_about_output() -> None:
    about = subprocess.run(
        [sys.executable, "-m", "tap_emarsys_registrations", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert table.startswith("| Setting |")
    assert table in about
    for name in _tap_settings():
        assert f"| {name} |" in table

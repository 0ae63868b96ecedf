"""meltano.yml and plugin.yml pass their owners' schemas.

meltano.yml: Meltano's project schema, as check-jsonschema ships it (``vendor.meltano``,
the check the Singer SDK template's pre-commit runs).

plugin.yml: the Meltano Hub's extractor plugin-definition schema. The Hub publishes it in
the meltano/hub repository only, in no package, so it is neither vendored nor fetched
here (CI reaches package registries only). ``scripts/hub_definition_check.py HUB_CHECKOUT``
validates against the real schema files; these tests check, offline, what those schemas
require at HUB_COMMIT, and that the script reports a broken definition.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "hub_definition_check.py"
CHECK_JSONSCHEMA = [sys.executable, "-m", "check_jsonschema"]

# From meltano/hub at HUB_COMMIT: schemas/plugin_definitions/extractors.schema.json and the
# schemas it references (common/common, common/extractors_specific, common/base_setting,
# plugin_definitions/hub_metadata).
HUB_COMMIT = "9d28b36a64bf1ba18d6b0dd6936d8f14d2eaa0ba"
HUB_REQUIRED = {"name", "namespace", "variant", "quality"}
HUB_KEYS = {
    "name", "pip_url", "variant", "namespace", "label", "description", "executable",
    "settings", "docs", "repo", "logo_url", "hidden", "python", "settings_group_validation",
    "commands", "capabilities", "metadata", "schema", "select", "maintenance_status",
    "quality", "domain_url", "keywords", "requires", "definition", "next_steps",
    "settings_preamble", "usage", "prereq", "supported_python_versions", "log_parser",
}  # fmt: skip
QUALITY = {"gold", "silver", "bronze", "unknown"}
MAINTENANCE = {"active", "beta", "development", "inactive", "unknown"}
CAPABILITIES = {
    "properties", "catalog", "discover", "state", "about", "stream-maps",
    "schema-flattening", "activate-version", "batch", "test", "log-based",
    "structured-logging",
}  # fmt: skip
SETTING_KEYS = {
    "name", "aliases", "label", "value", "placeholder", "kind", "description", "tooltip",
    "documentation", "env", "value_processor", "value_post_processor", "oauth", "options",
    "docs", "hidden", "sensitive",
}  # fmt: skip
KINDS = {
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options",
    "object", "array", "boolean", "string", "decimal",
}  # fmt: skip


def _definition() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "plugin.yml").read_text())
    return data


def _check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHECK_JSONSCHEMA, *map(str, args)], capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_meltano_yml_passes_meltanos_schema() -> None:
    result = _check_jsonschema("--builtin-schema", "vendor.meltano", ROOT / "meltano.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


@pytest.mark.slow
def test_meltanos_schema_rejects_a_broken_project(tmp_path: Path) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    project["plugins"]["extractors"][0]["capabilities"] = "state"  # must be a list
    broken = tmp_path / "meltano.yml"
    broken.write_text(yaml.safe_dump(project))
    result = _check_jsonschema("--builtin-schema", "vendor.meltano", broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "capabilities" in result.stdout


def test_meltano_yml_keeps_the_editable_install_for_development() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    assert project["plugins"]["extractors"][0]["pip_url"] == "-c constraints/tap.txt -e ."


def test_plugin_yml_has_what_the_hub_schema_requires() -> None:
    definition = _definition()
    assert set(definition) >= HUB_REQUIRED
    assert set(definition) <= HUB_KEYS, set(definition) - HUB_KEYS
    assert definition["quality"] in QUALITY
    assert definition["maintenance_status"] in MAINTENANCE
    assert set(definition["capabilities"]) <= CAPABILITIES
    assert all(re.fullmatch(r"3\.\d+", v) for v in definition["supported_python_versions"])
    assert definition["domain_url"].startswith("https://")
    for setting in definition["settings"]:
        assert set(setting) <= SETTING_KEYS, setting["name"]
        assert setting["kind"] in KINDS, setting["name"]
        for option in setting.get("options", []):
            assert isinstance(option["value"], str), setting["name"]
    for group in definition["settings_group_validation"]:
        assert set(group) <= {s["name"] for s in definition["settings"]}


def test_plugin_yml_pip_url_is_the_distribution_a_user_installs() -> None:
    assert _definition()["pip_url"] == "tap-emarsys-registrations"


def test_the_script_and_this_test_name_the_same_hub_commit() -> None:
    assert f'HUB_COMMIT = "{HUB_COMMIT}"' in SCRIPT.read_text()


def _hub_layout(root: Path) -> Path:
    """A stand-in Hub checkout whose schemas nest relative $refs as the real ones do."""
    schemas: dict[str, dict[str, Any]] = {
        "plugin_definitions/extractors.schema.json": {
            "$id": "extractors.schema.json",
            "allOf": [
                {"$ref": "../common/common.schema.json"},
                {"$ref": "hub_metadata.schema.json"},
            ],
        },
        "plugin_definitions/hub_metadata.schema.json": {
            "$id": "hub_metadata.schema.json",
            "required": ["quality"],
            "properties": {"quality": {"enum": sorted(QUALITY)}},
        },
        "common/common.schema.json": {
            "$id": "common/common.schema.json",
            "required": ["name", "namespace", "variant"],
            "properties": {"settings": {"items": {"$ref": "../common/base_setting.schema.json"}}},
        },
        "common/base_setting.schema.json": {
            "$id": "common/base_setting.schema.json",
            "required": ["name"],
            "properties": {"kind": {"enum": sorted(KINDS)}},
        },
    }
    for name, schema in schemas.items():
        path = root / "schemas" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"$schema": "http://json-schema.org/draft-07/schema#"} | schema))
    return root


def _run_script(hub: Path, definition: dict[str, Any], tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "plugin.yml"
    path.write_text(yaml.safe_dump(definition))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(hub), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_the_hub_check_script_resolves_the_schemas_and_reports_each_problem(
    tmp_path: Path,
) -> None:
    hub = _hub_layout(tmp_path / "hub")
    assert _run_script(hub, _definition(), tmp_path) == (
        0,
        "plugin.yml: valid against the Hub extractor schema\n",
    )
    unrated = {k: v for k, v in _definition().items() if k != "quality"}
    code, output = _run_script(hub, unrated, tmp_path)
    assert (code, output) == (1, "plugin.yml: (top level): 'quality' is a required property\n")
    mistyped = _definition()
    mistyped["settings"][1]["kind"] = "secret"
    code, output = _run_script(hub, mistyped, tmp_path)
    assert code == 1
    assert output.startswith("plugin.yml: settings/1/kind: 'secret' is not one of"), output


@pytest.mark.slow
def test_the_hub_check_script_refuses_a_folder_without_the_schemas(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "give a meltano/hub checkout" in result.stderr

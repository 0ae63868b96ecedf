"""Generate the Meltano plugin definition and the README settings table from the tap.

    .venv/bin/python scripts/plugin_definition.py          # rewrite plugin.yml, meltano.yml, README
    .venv/bin/python scripts/plugin_definition.py --check  # exit 1 if any of them is stale

The tap's ``--about --format=json`` output is the single source: ``plugin.yml``
(Hub-style), the extractor ``settings`` in ``meltano.yml`` and the settings table
in ``README.md`` are derived from it, so they cannot drift apart.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TAP = [sys.executable, "-m", "tap_emarsys_registrations", "--about", "--format"]
BUILTIN = ("stream_maps", "stream_map_config", "faker_config", "flattening_")
# Meltano 4.4 cannot pass `decimal` settings given as environment variables,
# so numbers are offered as integers (the tap itself accepts fractions too).
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "integer",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
GROUPS = [["client_id", "client_secret", "start_date"], ["username", "secret", "start_date"]]
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
# `meltano test tap-emarsys-registrations`: the connection test, which starts no export.
COMMANDS = {
    "test": {
        "args": "--config=ENV --test",
        "description": "Check credentials, the field catalog and permissions without an export",
    },
}


def about(fmt: str) -> str:
    return subprocess.run([*TAP, fmt], check=True, capture_output=True, text=True, cwd=ROOT).stdout


def leaves(properties: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Settings by name; an object's properties become dotted settings Meltano nests back."""
    result = []
    for name, spec in properties.items():
        if "properties" in spec:
            result.extend(leaves(spec["properties"], f"{prefix}{name}."))
        else:
            result.append((f"{prefix}{name}", spec))
    return result


def settings(info: dict[str, Any]) -> list[dict[str, Any]]:
    result = []
    for name, spec in leaves(info["settings"]["properties"]):
        if name.startswith(BUILTIN):
            continue
        types = [t for t in spec.get("type", ["string"]) if t != "null"]
        kind = KINDS[types[0]]
        if spec.get("format") == "date-time":
            kind = "date_iso8601"
        entry: dict[str, Any] = {"name": name, "label": spec.get("title", name), "kind": kind}
        if "enum" in spec:
            entry["kind"] = "options"
            entry["options"] = [{"label": v, "value": v} for v in spec["enum"] if v is not None]
        if "default" in spec:
            entry["value"] = spec["default"]
        if spec.get("secret"):
            entry["sensitive"] = True
        entry["description"] = spec.get("description", "")
        result.append(entry)
    return result


def plugin(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": info["name"],
        "namespace": "tap_emarsys_registrations",
        "variant": "tap-emarsys-registrations",
        "label": "Emarsys registrations",
        "description": info["description"],
        "domain_url": "https://help.emarsys.com/",
        # The distribution name, so a user outside this repository can install it; the
        # README shows the git URL form. meltano.yml keeps its editable install.
        "pip_url": info["name"],
        "executable": info["name"],
        "capabilities": sorted(info["capabilities"]),
        "commands": COMMANDS,
        "keywords": ["meltano_sdk", "emarsys"],
        "maintenance_status": "active",
        # Required by the Hub schema. The Hub's maintainers grade a connector once it is
        # listed; until then the honest grade is "unknown".
        "quality": "unknown",
        "supported_python_versions": info["supported_python_versions"],
        "settings_group_validation": GROUPS,
        "settings": settings(info),
    }


def dump(data: Any) -> str:  # noqa: ANN401
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def keep_comments(old: str, new: str) -> str:
    """Put the comment lines of ``old`` back into ``new``, each before the same next line.

    ``yaml`` drops comments, so the reasons given in meltano.yml (e.g. for a loader's
    pins) would vanish on every regeneration without this.
    """
    attached: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in old.splitlines():
        if line.lstrip().startswith("#"):
            pending.append(line)
        elif pending:
            attached.setdefault(line, []).extend(pending)
            pending = []
    out: list[str] = []
    for line in new.splitlines():
        out.extend(attached.pop(line, []))
        out.append(line)
    return "\n".join(out) + "\n"


def readme_table(markdown: str) -> str:
    match = re.search(r"^\| Setting .*?(?=\n\n)", markdown, re.S | re.M)
    assert match is not None, "no settings table in --about --format=markdown"
    return match.group(0)


def render() -> dict[Path, str]:
    info = json.loads(about("json"))
    definition = plugin(info)
    meltano_path = ROOT / "meltano.yml"
    meltano_text = meltano_path.read_text()
    meltano = yaml.safe_load(meltano_text)
    extractor = meltano["plugins"]["extractors"][0]
    extractor["capabilities"] = definition["capabilities"]
    extractor["commands"] = COMMANDS
    extractor["settings_group_validation"] = GROUPS
    extractor["settings"] = definition["settings"]
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    table = readme_table(about("markdown"))
    return {
        ROOT / "plugin.yml": dump(definition),
        meltano_path: keep_comments(meltano_text, dump(meltano)),
        readme_path: f"{head}{START}\n{table}\n{END}{tail}",
    }


def main() -> int:
    stale = []
    for path, text in render().items():
        current = path.read_text() if path.exists() else ""
        if current != text:
            stale.append(path.name)
            if "--check" not in sys.argv:
                path.write_text(text)
    if stale and "--check" in sys.argv:
        print(f"stale: {', '.join(stale)}; run scripts/plugin_definition.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Validate plugin.yml against the Meltano Hub's extractor plugin-definition schema.

    .venv/bin/python scripts/hub_definition_check.py HUB_CHECKOUT [plugin.yml]

HUB_CHECKOUT is a checkout of the meltano/hub repository (its ``schemas/`` folder is
read). The Hub's schemas are published in that repository only, in no package, so they
are not vendored here and CI (which reaches package registries only) cannot fetch them:
run this before submitting the definition to the Hub. tests/test_hub_definition.py checks
offline what the schemas at HUB_COMMIT require. The schemas are loaded the way the Hub's
own utility_scripts/plugin_definitions/plugin_schema_validate.py loads them: every file
of schemas/common and schemas/plugin_definitions registered under its ``$id``, Draft 7.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1]
# The meltano/hub commit whose schemas plugin.yml was last validated against (2026-08-02).
HUB_COMMIT = "9d28b36a64bf1ba18d6b0dd6936d8f14d2eaa0ba"
SCHEMA = "plugin_definitions/extractors.schema.json"


def registry(schemas: Path) -> Registry[Any]:
    resources = []
    for folder in ("common", "plugin_definitions"):
        for path in sorted((schemas / folder).glob("*.json")):
            contents = json.loads(path.read_text())
            resource = Resource.from_contents(contents, default_specification=DRAFT7)
            resources.append((contents["$id"], resource))
    return Registry().with_resources(resources)


def problems(schemas: Path, definition: dict[str, Any]) -> list[str]:
    """Every way the definition breaks the schema, one line each."""
    schema = json.loads((schemas / SCHEMA).read_text())
    validator = Draft7Validator(schema, registry=registry(schemas))
    found = []
    for error in sorted(validator.iter_errors(definition), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        found.append(f"{where}: {error.message}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) not in {1, 2}:
        print(__doc__.split("\n\n", 2)[1], file=sys.stderr)
        return 2
    schemas = Path(argv[0]) / "schemas"
    if not (schemas / SCHEMA).is_file():
        print(f"no {SCHEMA} under {schemas}: give a meltano/hub checkout", file=sys.stderr)
        return 2
    path = Path(argv[1]) if len(argv) == 2 else ROOT / "plugin.yml"
    found = problems(schemas, yaml.safe_load(path.read_text()))
    for line in found:
        print(f"{path.name}: {line}", file=sys.stderr)
    if not found:
        print(f"{path.name}: valid against the Hub extractor schema")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

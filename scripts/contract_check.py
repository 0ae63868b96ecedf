"""Compare sandbox/contract.py with a fetched copy of Emarsys' spec and say what changed.

    .venv/bin/python scripts/contract_check.py EMARSYS_CHECKOUT [COMMIT]
    .venv/bin/python scripts/contract_check.py --record EMARSYS_CHECKOUT

EMARSYS_CHECKOUT is a copy of the api-evangelist/emarsys repository (its
openapi/ folder is read), at COMMIT (default: the checkout's git HEAD). The spec
files are not vendored here. The script prints the commit it checked against,
then (1) every fact of the operations the tap uses (types, enums, limits,
required) that changed since CHECKED_COMMIT, the commit the schemas were written
from, and (2) every spec fact that the project's schemas do not accept. It exits
0 when nothing changed and every fact is accepted, else 1. ``--record`` prints
the facts of the checkout, to paste into RECORDED after updating the schemas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox import contract  # noqa: E402

CHECKED_COMMIT = contract.SPEC[2]
SPEC_PATH = contract.SPEC[1]
FIELDS_PATH = contract.FIELDS_SPEC[1]
KEEP = ("type", "enum", "pattern", "minItems", "maxItems", "minimum", "maximum", "required")
# The facts of the spec at CHECKED_COMMIT (``--record``), which the schemas were written from.
RECORDED: dict[str, str] = {
    "request.type": '"object"',
    "request.required": '["contact_fields", "distribution_method", "time_range"]',
    "request.distribution_method.type": '"string"',
    "request.distribution_method.enum": '["local", "sftp"]',
    "request.contactlist.type": '"integer"',
    "request.time_range.type": '"array"',
    "request.time_range.minItems": "2",
    "request.time_range.maxItems": "2",
    "request.time_range[].type": '"string"',
    "request.time_range[].pattern": '"^[0-9]{4}-[0-9]{2}-[0-9]{2}"',
    "request.with_timestamp.type": '"integer"',
    "request.with_timestamp.enum": "[0, 1]",
    "request.contact_fields.type": '"array"',
    "request.contact_fields.minItems": "1",
    "request.contact_fields.maxItems": "20",
    "request.contact_fields[].type": '"integer"',
    "request.delimiter.type": '"string"',
    "request.delimiter.enum": '[",", ";"]',
    "request.add_field_names_header.type": '"integer"',
    "request.add_field_names_header.enum": "[0, 1]",
    "request.language.type": '"string"',
    "request.language.pattern": '"^[a-z]{2}"',
    "request.sftp_settings.type": '"object"',
    "request.sftp_settings.host.type": '"string"',
    "request.sftp_settings.port.type": '"string"',
    "request.sftp_settings.username.type": '"string"',
    "request.sftp_settings.password.type": '"string"',
    "request.sftp_settings.folder.type": '"string"',
    "request.notification_url.type": '"string"',
    "start.type": '"object"',
    "start.id.type": '"integer"',
    "status.type": '"object"',
    "status.id.type": '"string"',
    "status.created.type": '"string"',
    "status.status.type": '"string"',
    "status.status.enum": '["done", "error", "in progress", "ready", "scheduled"]',
    "status.type.type": '"string"',
    "status.type.enum": '["Registrations", "Responses"]',
    "status.file_name.type": '"string"',
    "status.ftp_host.type": '"string"',
    "status.ftp_dir.type": '"string"',
    "data.offset.type": '"integer"',
    "data.limit.type": '"integer"',
    "data.limit.minimum": "1",
    "data.limit.maximum": "10000000",
    "fields.type": '"array"',
    "fields[].type": '"object"',
    "fields[].id.type": '"string"',
    "fields[].name.type": '"string"',
    "fields[].application_type.type": '"string"',
    "fields[].string_id.type": '"string"',
}
# What the schemas name that the spec at CHECKED_COMMIT does not: each a documented
# reading of the contradictions (sandbox/contract.py says which).
EXTRAS = {"request.ftp_settings"}


def flatten(node: dict[str, Any], prefix: str, out: dict[str, str]) -> dict[str, str]:
    """The facts of one schema node, as ``path.keyword -> JSON`` (lists sorted)."""
    for key in KEEP:
        if key in node:
            value = node[key]
            out[f"{prefix}.{key}"] = json.dumps(sorted(value) if isinstance(value, list) else value)
    for name, child in (node.get("properties") or {}).items():
        flatten(child, f"{prefix}.{name}", out)
    if isinstance(node.get("items"), dict):
        flatten(node["items"], f"{prefix}[]", out)
    return out


def spec_facts(checkout: Path) -> dict[str, str]:
    """The facts of the operations the tap uses, from the checkout's spec files."""
    spec = yaml.safe_load((checkout / SPEC_PATH).read_text(encoding="utf-8"))
    fields = yaml.safe_load((checkout / FIELDS_PATH).read_text(encoding="utf-8"))
    paths = spec["paths"]
    start = paths["/v2/contact/getregistrations"]["post"]
    status = paths["/v2/export/{exportId}"]["get"]["responses"]["200"]["schema"]
    listing = fields["paths"]["/v2/field/translate/{languageId}"]["get"]["responses"]["200"]
    out: dict[str, str] = {}
    flatten(start["parameters"][0]["schema"], "request", out)
    flatten(start["responses"]["200"]["schema"]["properties"]["data"], "start", out)
    flatten(status["properties"]["data"], "status", out)
    for ref in paths["/v2/export/{exportId}/data"]["get"]["parameters"]:
        if "$ref" in ref:
            parameter = spec["parameters"][ref["$ref"].rsplit("/", 1)[1]]
            flatten(parameter, f"data.{parameter['name']}", out)
    flatten(listing["schema"]["properties"]["data"], "fields", out)
    return out


def changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """What changed from ``old`` to ``new``, one line each."""
    lines = [f"+ {key}: {new[key]}" for key in sorted(new.keys() - old.keys())]
    lines += [f"- {key}: {old[key]}" for key in sorted(old.keys() - new.keys())]
    lines += [
        f"~ {key}: {old[key]} -> {new[key]}"
        for key in sorted(old.keys() & new.keys())
        if old[key] != new[key]
    ]
    return lines


def _types(node: dict[str, Any]) -> set[str]:
    if "anyOf" in node:
        return set().union(*(_types(branch) for branch in node["anyOf"]))
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else ({kind} if kind else set())


def _ours(path: str) -> dict[str, Any] | None:
    """The project's schema node for a fact path such as ``request.sftp_settings.port``."""
    roots = {
        "request": contract.REGISTRATIONS_REQUEST,
        "start": contract.START_REPLY["properties"]["data"],
        "status": contract.STATUS_REPLY["properties"]["data"],
        "fields": contract.FIELD_LIST_REPLY["properties"]["data"],
    }
    head, *rest = path.replace("[]", ".[]").split(".")
    node: Any = roots.get(head.removesuffix("[]"))
    for part in rest:
        if node is None:
            return None
        node = node.get("items") if part == "[]" else node.get("properties", {}).get(part)
    return node  # type: ignore[no-any-return]


def not_accepted(facts: dict[str, str]) -> list[str]:
    """The spec facts the schemas do not accept (a type, enum value or property they lack)."""
    problems = []
    for key, raw in sorted(facts.items()):
        where, _, keyword = key.rpartition(".")
        value = json.loads(raw)
        if where.startswith("data."):
            continue  # query parameters of /data: read by the tap, not held in a schema
        ours = _ours(where)
        if ours is None:
            problems.append(f"{where}: the schemas do not name it")
        elif keyword == "type" and value not in _types(ours) and value != "object":
            problems.append(f"{where}: type {value} not accepted ({sorted(_types(ours))})")
        elif keyword == "enum" and where != "status.type":
            missing = [v for v in value if v not in ours.get("enum", value)]
            if missing:
                problems.append(f"{where}: enum values {missing} not accepted")
        elif keyword == "required" and sorted(ours.get("required", [])) != value:
            problems.append(f"{where}: required {value}, the schema {ours.get('required')}")
    return problems


def _head(checkout: Path) -> str:
    found = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else "unknown (give COMMIT)"


def main(argv: list[str]) -> int:
    record = argv[:1] == ["--record"]
    args = argv[1:] if record else argv
    if len(args) not in {1, 2}:
        print(__doc__.split("\n\n", 2)[1], file=sys.stderr)
        return 2
    checkout = Path(args[0])
    if not (checkout / SPEC_PATH).is_file():
        print(f"no {SPEC_PATH} under {checkout}: give an api-evangelist/emarsys copy")
        return 2
    facts = spec_facts(checkout)
    if record:
        print(json.dumps(facts, indent=4))
        return 0
    commit = args[1] if len(args) == 2 else _head(checkout)
    print(f"Checked against {contract.SPEC[0]} at {commit}")
    print(f"The schemas were written from {CHECKED_COMMIT}")
    changed = changes(RECORDED, facts)
    print(f"Spec facts changed since {CHECKED_COMMIT[:12]}: {len(changed) or 'none'}")
    for line in changed:
        print(f"  {line}")
    problems = not_accepted(facts)
    print(f"Spec facts the schemas do not accept: {len(problems) or 'none'}")
    for line in problems:
        print(f"  {line}")
    return 1 if changed or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

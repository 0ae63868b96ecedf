"""scripts/contract_check.py: the spec's facts at the checked commit, and what it reports."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox import contract

if TYPE_CHECKING:
    from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "contract_check.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("contract_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("contract_check", module)
    spec.loader.exec_module(module)
    return module


def test_the_schemas_accept_every_fact_of_the_spec_they_were_written_from() -> None:
    check = load()
    assert re.fullmatch(r"[0-9a-f]{40}", check.CHECKED_COMMIT)
    assert contract.SPEC[2] == check.CHECKED_COMMIT
    assert check.not_accepted(check.RECORDED) == []


def test_a_changed_spec_is_reported_fact_by_fact() -> None:
    check = load()
    changed = dict(check.RECORDED)
    changed["request.distribution_method.enum"] = '["local", "mail", "sftp"]'
    changed["request.origin.type"] = '"string"'
    changed["status.status.enum"] = '["done", "error", "in progress", "queued", "ready"]'
    del changed["request.notification_url.type"]
    assert check.changes(check.RECORDED, changed) == [
        '+ request.origin.type: "string"',
        '- request.notification_url.type: "string"',
        '~ request.distribution_method.enum: ["local", "sftp"] -> ["local", "mail", "sftp"]',
        (
            '~ status.status.enum: ["done", "error", "in progress", "ready", "scheduled"] -> '
            '["done", "error", "in progress", "queued", "ready"]'
        ),
    ]
    assert check.not_accepted(changed) == [
        "request.distribution_method: enum values ['mail'] not accepted",
        "request.origin: the schemas do not name it",
        "status.status: enum values ['queued'] not accepted",
    ]
    loosened = check.RECORDED | {"request.contact_fields[].type": '"boolean"'}
    assert check.not_accepted(loosened) == [
        "request.contact_fields[]: type boolean not accepted (['integer'])"
    ]

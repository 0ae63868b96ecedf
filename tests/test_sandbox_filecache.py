"""The sandbox's on-disk file cache (used by the benchmark) serves the same bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox import Sandbox, SandboxConfig
from sandbox.contactlists import CONTACT_LISTS, KNOWN_CONTACT_LISTS
from tests.conftest import record_keys, run_tap, tap_config

if TYPE_CHECKING:
    from pathlib import Path


def test_cached_files_give_the_same_records_and_are_rendered_once(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    with Sandbox(SandboxConfig(days=2, per_day=20)) as plain:
        expected = run_tap(tap_config(plain))
    with Sandbox(SandboxConfig(days=2, per_day=20, file_cache_dir=str(folder))) as cached:
        first = run_tap(tap_config(cached))
        files = sorted(p.name for p in folder.iterdir())
        second = run_tap(tap_config(cached))
    assert first.error is None
    assert second.error is None
    assert record_keys(first) == record_keys(expected) == record_keys(second)
    assert first.records == expected.records
    assert files  # one file per distinct export body
    assert sorted(p.name for p in folder.iterdir()) == files  # nothing rendered twice


def test_contact_list_ids_agree_with_the_listed_lists() -> None:
    assert {int(str(entry["id"])) for entry in CONTACT_LISTS} == KNOWN_CONTACT_LISTS

"""The ``--state`` and ``--catalog`` files are closed as soon as they are read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_emarsys_registrations.tap import TapEmarsysRegistrations

if TYPE_CHECKING:
    from pathlib import Path


def test_a_failing_run_leaves_no_input_file_open(tmp_path: Path) -> None:
    # Warnings are errors in this suite, so an unclosed file would also fail here.
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps({"bookmarks": {}}), encoding="utf-8")
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps({"streams": []}), encoding="utf-8")
    with (
        state_path.open(encoding="utf-8") as state,
        catalog_path.open(encoding="utf-8") as catalog,
    ):
        # No config at all: the run fails after both files were read, as a bad
        # config or an API error would.
        with pytest.raises(ConfigValidationError):
            TapEmarsysRegistrations.invoke(state=state, catalog=catalog)
        assert state.closed
        assert catalog.closed

"""The SDK's generated test suite, run against a live sandbox.

The SDK parametrizes its tests by discovering streams when this module is
imported, so the sandbox has to be serving by then; it is stopped when the
module's tests finish. The SDK's primary-key and final-state checks cannot
fail (see the developers' notes); test_state.py and test_end_to_end.py carry
the real assertions on keys and STATE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.conftest import FAST_CLOCK, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator

_SANDBOX = Sandbox(SandboxConfig(days=2, per_day=30))
_SANDBOX.start()


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> Iterator[None]:
    yield
    _SANDBOX.stop()


TestTapEmarsysRegistrations = get_tap_test_class(
    tap_class=TapEmarsysRegistrations,
    config=tap_config(_SANDBOX, window_hours=12),
    suite_config=SuiteConfig(max_records_limit=40),
    clock=FAST_CLOCK,
)

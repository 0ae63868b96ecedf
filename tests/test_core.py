"""The SDK's generated test suite, run against a live sandbox.

The SDK parametrizes its tests by discovering streams when this module is
imported, so the sandbox has to be serving by then; it is stopped when the
process ends. The SDK's primary-key and final-state checks cannot
fail (see the developers' notes); test_state.py and test_end_to_end.py carry
the real assertions on keys and STATE.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.clocks import FAST_CLOCK
from tests.conftest import tap_config

_SANDBOX = Sandbox(SandboxConfig(days=2, per_day=30))
_SANDBOX.start()
# The suite's runs share one token, in a folder of their own (not the user's cache).
_TOKEN_CACHE = tempfile.mkdtemp(prefix="tap-emarsys-core-tokens-")


def _stop_sandbox() -> None:
    _SANDBOX.stop()
    shutil.rmtree(_TOKEN_CACHE, ignore_errors=True)


# Stopped when the process ends, not after the module's last test: a run that lists tests
# one by one (scripts/mutation.sh) may put other modules' tests between this module's.
atexit.register(_stop_sandbox)


TestTapEmarsysRegistrations = get_tap_test_class(
    tap_class=TapEmarsysRegistrations,
    config=tap_config(_SANDBOX, window_hours=12, token_cache_dir=_TOKEN_CACHE),
    suite_config=SuiteConfig(max_records_limit=40),
    clock=FAST_CLOCK,
)

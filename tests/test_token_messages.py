"""What an operator reads when the token-fetch limits stop a run, word for word.

The token endpoint's 429 (with and without ``Retry-After``) comes from a real sandbox;
the tap's own refusal comes from its ledger, on an injected clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.clock import Clock
from tap_emarsys_registrations.emarsys.auth import OAuthClientCredentials, TokenLimitError
from tap_emarsys_registrations.emarsys.token_cache import FileTokenCache
from tap_emarsys_registrations.emarsys.token_ledger import (
    DOCUMENTED_LIMITS,
    next_fetch,
    recent,
    refusal,
)

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1_800_000_000.0
LIMITS = "Emarsys allows 2 token requests a minute and 10 an hour per client_id."
REMEDY = (
    "Schedule runs less often, keep the token cache on a persistent volume (setting "
    "token_cache_dir, with token_cache on), or give parallel jobs their own API credential"
)


def _token_error(sandbox: Sandbox, cache_dir: Path, sleeps: list[float]) -> str:
    now = [T0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    auth = OAuthClientCredentials(
        token_url=sandbox.token_url,
        client_id=sandbox.config.client_id,
        client_secret=sandbox.config.client_secret,
        session=requests.Session(),
        clock=Clock(time=lambda: now[0], monotonic=lambda: now[0], sleep=sleep),
        cache=FileTokenCache(cache_dir),
    )
    with pytest.raises(TokenLimitError) as raised:
        auth.token()
    return str(raised.value)


@pytest.mark.parametrize(
    ("retry_after", "said"),
    [
        (True, "Emarsys OAuth token request failed (HTTP 429) (Retry-After: 3600s): "),
        (False, "Emarsys OAuth token request failed (HTTP 429): "),
    ],
)
def test_the_token_endpoint_429_says_what_happened_and_what_to_do(
    tmp_path: Path, retry_after: bool, said: str
) -> None:
    config = SandboxConfig(days=1, per_day=1, token_retry_after=retry_after)
    with Sandbox(config) as sandbox:
        sandbox.faults.token_budget_spent = True
        sleeps: list[float] = []
        message = _token_error(sandbox, tmp_path, sleeps)
        assert message == f"{said}too many token requests; {LIMITS} {REMEDY}"
        assert sleeps == [], "an hour's wait is not waited"
        assert len(sandbox.token_requests) == 1


@pytest.mark.parametrize(
    ("first_of_ten", "minutes"),
    [(-3530.0, 1), (-3510.0, 2), (-3000.0, 10), (-1.0, 60)],
)
def test_the_refusal_names_the_hour_and_rounds_the_wait_to_minutes(
    first_of_ten: float, minutes: int
) -> None:
    times = [T0 + first_of_ten] + [T0 - 0.5] * 9
    plan = next_fetch(times, T0, DOCUMENTED_LIMITS)
    assert plan.window == "hour"
    assert refusal(plan) == (
        f"Not fetching an OAuth token: 10 token requests for this client_id were already "
        f"sent in the last hour, and {LIMITS[:-1]}; the next one is possible in about "
        f"{minutes} min. {REMEDY}"
    )


def test_two_requests_in_the_minute_are_named_as_the_minute_limit() -> None:
    plan = next_fetch([T0 - 59.0, T0 - 1.0], T0, DOCUMENTED_LIMITS)
    assert (plan.wait, plan.window, plan.sent) == (1.0, "minute", 2)
    assert "2 token requests for this client_id were already sent in the last minute" in (
        refusal(plan)
    )


def test_a_request_leaves_the_hour_after_exactly_an_hour() -> None:
    assert recent([T0 - 3600.0, T0 - 3599.0, T0 + 5.0], T0) == [T0 - 3599.0, T0]
    times = [T0 - 3600.0] + [T0 - 100.0 - i for i in range(9)]
    assert next_fetch(times, T0, DOCUMENTED_LIMITS).wait == 0.0

"""The sandbox's OAuth token endpoint keeps Emarsys' token-fetch limits, and its switches work."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from sandbox import Sandbox, SandboxConfig
from sandbox.__main__ import build_parser, config_from_args
from sandbox.tokenlimit import TokenFetchLimiter

if TYPE_CHECKING:
    from collections.abc import Iterator

GRANT = {"grant_type": "client_credentials"}


def _post(sb: Sandbox) -> requests.Response:
    return requests.post(
        sb.token_url, auth=(sb.config.client_id, sb.config.client_secret), data=GRANT, timeout=10
    )


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=1)) as sandbox:
        yield sandbox


def test_by_default_the_third_token_in_a_minute_gets_429_with_a_json_error(sb: Sandbox) -> None:
    assert [_post(sb).status_code for _ in range(2)] == [200, 200]
    refused = _post(sb)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    assert "minute" in refused.json()["error_description"]
    assert "Retry-After" not in refused.headers
    assert [e.status for e in sb.token_requests] == [200, 200, 429]


def test_wrong_credentials_do_not_spend_the_budget(sb: Sandbox) -> None:
    wrong = requests.post(sb.token_url, auth=(sb.config.client_id, "nope"), data=GRANT, timeout=10)
    assert wrong.status_code == 401
    assert [_post(sb).status_code for _ in range(2)] == [200, 200]


def test_retry_after_is_a_switch() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=1, token_retry_after=True)) as sb:
        _post(sb)
        _post(sb)
        refused = _post(sb)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_sliding_windows_per_minute_and_per_hour() -> None:
    now = [0.0]
    limiter = TokenFetchLimiter(2, 10, lambda: now[0])
    assert limiter.hit("a").allowed
    now[0] = 30.0
    assert limiter.hit("a").allowed
    now[0] = 59.0
    minute = limiter.hit("a")
    assert (minute.allowed, minute.window, minute.retry_after) == (False, "minute", 1)
    assert limiter.hit("b").allowed, "each client_id has its own budget"
    now[0] = 60.0  # the first request left the minute: the window slides, it is not fixed
    assert limiter.hit("a").allowed
    for step in range(7):
        now[0] = 200.0 + 61.0 * step
        assert limiter.hit("a").allowed
    now[0] = 1000.0
    hour = limiter.hit("a")
    assert (hour.allowed, hour.window, hour.retry_after) == (False, "hour", 2600)
    now[0] = 3600.0
    assert limiter.hit("a").allowed


def test_limits_can_be_switched_off() -> None:
    limiter = TokenFetchLimiter(None, None, lambda: 0.0)
    assert all(limiter.hit("a").allowed for _ in range(50))
    with Sandbox(SandboxConfig(days=1, per_day=1, token_limit_per_minute=None)) as sb:
        assert {_post(sb).status_code for _ in range(10)} == {200}
        assert _post(sb).status_code == 429, "the hourly limit still holds"


def test_the_spent_budget_and_outage_switches(sb: Sandbox) -> None:
    control = f"{sb.base_url}/_sandbox/faults"
    requests.post(control, json={"token_budget_spent": True}, timeout=10).raise_for_status()
    assert _post(sb).status_code == 429
    requests.post(
        control, json={"token_budget_spent": False, "token_endpoint_down": True}, timeout=10
    ).raise_for_status()
    assert _post(sb).status_code == 503
    sb.faults.reset()
    assert _post(sb).status_code == 200


def test_revoked_tokens_get_401(sb: Sandbox) -> None:
    token = _post(sb).json()["access_token"]
    url = f"{sb.api_url}/v3/field"
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, headers=bearer, timeout=10).status_code == 200
    revoked = requests.post(f"{sb.base_url}/_sandbox/tokens/revoke", timeout=10).json()
    assert revoked == {"revoked": 1}
    assert requests.get(url, headers=bearer, timeout=10).status_code == 401
    fresh = {"Authorization": f"Bearer {_post(sb).json()['access_token']}"}
    assert requests.get(url, headers=fresh, timeout=10).status_code == 200


def test_cli_flags_set_the_token_limits() -> None:
    default = config_from_args(build_parser().parse_args([]))
    assert (default.token_limit_per_minute, default.token_limit_per_hour) == (2, 10)
    assert default.token_retry_after is False
    args = ["--token-limit-minute", "0", "--token-limit-hour", "50", "--token-retry-after"]
    changed = config_from_args(build_parser().parse_args(args))
    assert (changed.token_limit_per_minute, changed.token_limit_per_hour) == (None, 50)
    assert changed.token_retry_after is True

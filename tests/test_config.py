"""Bad settings fail before any export request, name the setting, and never leak secrets."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.cli import run_cli, write_config
from tests.clocks import FAST_CLOCK
from tests.conftest import shared_token_cache, tap_config

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[1]
ENV_PREFIX = "TAP_EMARSYS_REGISTRATIONS_"
OAUTH_OFF = {"client_id": None, "client_secret": None, "token_url": None}
WSSE = {**OAUTH_OFF, "username": "sandbox001", "secret": "sandbox-secret"}
FTP = {"host": "127.0.0.1", "username": "u", "password": "p"}


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's tests share one sandbox, so they share one token cache too."""
    yield from shared_token_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """One sandbox for the module; each test starts from an empty request log."""
    with Sandbox(SandboxConfig(days=1, per_day=10)) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _empty_log(sb: Sandbox) -> None:
    sb.clear_requests()


def _config(sb: Sandbox, overrides: dict[str, Any]) -> dict[str, Any]:
    resolved = {
        k: (sb.api_url + v if k == "api_url" and v.startswith("/") else v)
        for k, v in overrides.items()
    }
    config = tap_config(sb) | resolved
    return {k: v for k, v in config.items() if v is not None}


def _error_text(error: ConfigValidationError) -> str:
    return " ".join([str(error), *(error.errors or [])])


# (overrides, (setting, other words the error must contain), reads the field catalog)
BAD_SETTINGS = [
    pytest.param(OAUTH_OFF, ("client_id",), False, id="no-credentials"),
    pytest.param({"client_secret": None}, ("client_secret",), False, id="only-client_id"),
    pytest.param({"client_id": None}, ("client_id",), False, id="only-client_secret"),
    pytest.param({**OAUTH_OFF, "secret": "s"}, ("username",), False, id="only-wsse-secret"),
    pytest.param({**OAUTH_OFF, "username": "u"}, ("secret",), False, id="only-wsse-username"),
    pytest.param(
        {"username": "u", "secret": "s"}, ("client_id", "username"), False, id="oauth-and-wsse"
    ),
    pytest.param({"start_date": None}, ("start_date",), False, id="start_date-missing"),
    pytest.param(
        {"start_date": "garbage"}, ("start_date", "garbage"), False, id="start_date-garbage"
    ),
    pytest.param({"end_date": "2024-03-28T00:00:00Z"}, ("end_date",), False, id="end-before-start"),
    pytest.param({"end_date": "2024-03-29T00:00:00Z"}, ("end_date",), False, id="end-equals-start"),
    pytest.param({"contact_fields": []}, ("contact_fields",), False, id="contact_fields-empty"),
    *(
        pytest.param(
            {"contact_fields": [1, fid]}, ("contact_fields", str(fid)), False, id=f"field-{fid}"
        )
        for fid in (27, 28, 29, 32, 33)
    ),
    pytest.param(
        {"contact_fields": [1, "32"]}, ("contact_fields", "32"), False, id="field-32-as-text"
    ),
    pytest.param(
        {"contact_fields": [1, 2, "first_name"]}, ("contact_fields", "twice"), True, id="repeated"
    ),
    pytest.param(
        {"contact_fields": [1, 424242]}, ("contact_fields", "424242"), True, id="unknown-id"
    ),
    pytest.param(
        {"contact_fields": [1, "nope"]}, ("contact_fields", "nope"), True, id="unknown-string_id"
    ),
    pytest.param(
        {**WSSE, "contact_fields": [424242]},
        ("contact_fields", "424242"),
        True,
        id="unknown-id-wsse",
    ),
    pytest.param(
        {**WSSE, "contact_fields": ["nope"]},
        ("contact_fields", "nope"),
        True,
        id="unknown-string_id-wsse",
    ),
    pytest.param(
        {"contact_fields": [1, "first_name"]},
        ("contact_fields", "twice"),
        True,
        id="field-listed-twice",
    ),
    pytest.param({"delimiter": "|"}, ("delimiter",), False, id="delimiter-pipe"),
    pytest.param(
        {"distribution_method": "ftp"},
        ("ftp_settings.host", "distribution_method 'ftp'"),
        False,
        id="ftp-without-ftp_settings",
    ),
    pytest.param(
        {"distribution_method": "sftp", "ftp_settings": {"host": "h", "username": "u"}},
        ("ftp_settings.password", "sftp"),
        False,
        id="sftp-without-password",
    ),
    pytest.param(
        {"distribution_method": "ftp", "ftp_settings": {**FTP, "port": 70000}},
        ("ftp_settings.port", "70000"),
        False,
        id="ftp-port-out-of-range",
    ),
    pytest.param(
        {"distribution_method": "ftp", "ftp_settings": {**FTP, "host": "ftp://h/x"}},
        ("ftp_settings.host", "no scheme"),
        False,
        id="ftp-host-is-a-url",
    ),
    pytest.param(
        {"distribution_method": "ftp", "ftp_settings": {**FTP, "user": "u"}},
        ("ftp_settings.user", "username"),
        False,
        id="ftp_settings-unknown-key",
    ),
    pytest.param(
        {"distribution_method": "sftp", "ftp_settings": FTP, "sftp_host_key": "SHA256:abc"},
        ("sftp_host_key", "'SHA256:abc'", "43 base64"),
        False,
        id="sftp_host_key-short-fingerprint",
    ),
    pytest.param(
        {"distribution_method": "sftp", "ftp_settings": FTP, "sftp_host_key": "MD5:12:ab"},
        ("sftp_host_key", "SHA256"),
        False,
        id="sftp_host_key-md5",
    ),
    pytest.param(
        {"distribution_method": "sftp", "ftp_settings": FTP, "sftp_host_key": "ssh-rsa AAAA"},
        ("sftp_host_key", "ssh-rsa"),
        False,
        id="sftp_host_key-broken-key-line",
    ),
    pytest.param(
        {"distribution_method": "sftp", "ftp_settings": FTP, "sftp_host_key": "files.example"},
        ("sftp_host_key", "public key line"),
        False,
        id="sftp_host_key-host-name",
    ),
    pytest.param(
        {"distribution_method": "carrier-pigeon"},
        ("distribution_method",),
        False,
        id="distribution-pigeon",
    ),
    pytest.param({"language": "xx"}, ("language",), False, id="language-xx"),
    pytest.param({"window_hours": 0}, ("window_hours",), False, id="window_hours-0"),
    pytest.param({"window_hours": -1}, ("window_hours",), False, id="window_hours-negative"),
    pytest.param(
        {"window_hours": 48, "max_window_hours": 24},
        ("max_window_hours", "shorter than window_hours"),
        False,
        id="max_window_hours-below-window",
    ),
    pytest.param({"max_window_hours": 0}, ("max_window_hours",), False, id="max_window_hours-0"),
    pytest.param(
        {"target_rows_per_export": 0}, ("target_rows_per_export",), False, id="target_rows-0"
    ),
    pytest.param(
        {"target_rows_per_export": 1_000_001},
        ("target_rows_per_export", "1,000,000"),
        False,
        id="target_rows-over-cap",
    ),
    pytest.param({"poll_interval_seconds": 0}, ("poll_interval_seconds",), False, id="poll-0"),
    pytest.param(
        {"export_timeout_seconds": -5}, ("export_timeout_seconds",), False, id="timeout-negative"
    ),
    pytest.param(
        {"max_concurrent_exports": 0}, ("max_concurrent_exports",), False, id="concurrency-0"
    ),
    pytest.param(
        {"export_timezone": "Mars/Olympus"}, ("export_timezone",), False, id="timezone-mars"
    ),
    pytest.param({"api_url": "not a url"}, ("api_url",), False, id="api_url-not-a-url"),
    pytest.param({"api_url": "/v3"}, ("api_url", "/v3"), False, id="api_url-ends-v3"),
    pytest.param({"api_url": "/v2/"}, ("api_url", "/v2"), False, id="api_url-ends-v2-slash"),
    pytest.param({"window_hours": "24h"}, ("window_hours",), False, id="type-window_hours"),
    pytest.param({"with_timestamp": "yes"}, ("with_timestamp",), False, id="type-with_timestamp"),
    pytest.param({"contact_fields": "1,2"}, ("contact_fields",), False, id="type-contact_fields"),
    pytest.param({"contactlist": "abc"}, ("contactlist",), False, id="type-contactlist"),
    pytest.param({"start_date": 5}, ("start_date",), False, id="type-start_date"),
]


@pytest.mark.parametrize(("overrides", "words", "reads_catalog"), BAD_SETTINGS)
def test_bad_setting_fails_at_construction_naming_it(
    sb: Sandbox, overrides: dict[str, Any], words: tuple[str, ...], reads_catalog: bool
) -> None:
    config = _config(sb, overrides)
    with pytest.raises(ConfigValidationError) as caught:
        TapEmarsysRegistrations(config=config, clock=FAST_CLOCK)
    text = _error_text(caught.value)
    setting, *details = words
    assert f"'{setting}'" in text, "the setting is named as in config['x'] or setting 'x'"
    for word in details:
        assert word in text
    log = sb.requests
    if not reads_catalog:
        assert log == [], "nothing is sent for a setting that can be checked locally"
        return
    api = [e for e in log if e.path.startswith("/api/")]
    assert api, "the field catalog was read"
    assert all(e.method == "GET" and "/field/translate/" in e.path for e in api)
    # Besides the catalog, at most the OAuth token was fetched; no export was started.
    others = [e for e in log if not e.path.startswith("/api/")]
    assert all(e.method == "POST" and e.path == sb.config.token_path for e in others)
    if "username" in config:
        assert [e.method for e in log] == ["GET"] * len(log)


def _cli(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    debug: bool = False,
) -> subprocess.CompletedProcess[str]:
    return run_cli(write_config(tmp_path, config), debug=debug)


def _small(sb: Sandbox, **overrides: Any) -> dict[str, Any]:
    """One 6-hour window: a CLI run that finishes in well under a second."""
    end = sb.config.start + dt.timedelta(hours=6)
    return _config(sb, {"end_date": end.isoformat(), "window_hours": 6, **overrides})


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        pytest.param(OAUTH_OFF, "client_id", id="missing-credentials"),
        pytest.param({"start_date": "garbage"}, "start_date", id="garbage-start_date"),
        pytest.param({"contact_fields": [1, 424242]}, "contact_fields", id="unknown-field"),
        pytest.param({"window_hours": 0.0}, "window_hours", id="window_hours-0.0"),
    ],
)
def test_cli_reports_a_bad_setting_in_one_line(
    sb: Sandbox, tmp_path: Path, overrides: dict[str, Any], setting: str
) -> None:
    result = _cli(tmp_path, _small(sb, **overrides))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert any(setting in line for line in errors), result.stderr
    assert result.stdout == ""
    assert not [e for e in sb.requests if e.path.endswith("/contact/getregistrations")]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_cli_accepts_fractional_numbers_from_a_config_file(sb: Sandbox, tmp_path: Path) -> None:
    # JSON config files are read with Decimal floats; 0.02 must be a valid interval.
    result = _cli(tmp_path, _small(sb, poll_interval_seconds=0.02, window_hours=6.0))
    assert result.returncode == 0, result.stderr
    types = [json.loads(line)["type"] for line in result.stdout.splitlines() if line]
    assert "RECORD" in types


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_cli_wrong_client_secret_is_one_clear_line(sb: Sandbox, tmp_path: Path) -> None:
    result = _cli(tmp_path, _small(sb, client_secret="not-the-secret"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    mentions = [line for line in result.stderr.splitlines() if "client_secret" in line]
    assert len(mentions) == 1, result.stderr
    assert "401" in mentions[0]
    assert [e.status for e in sb.requests] == [401]


def _secrets_seen(sb: Sandbox, config: dict[str, Any]) -> set[str]:
    """Every credential the run held or sent: config secrets, Basic and Bearer values, digests."""
    found = {str(config[key]) for key in ("client_secret", "secret") if key in config}
    for entry in sb.requests:
        for name, value in entry.headers.items():
            if name.lower() == "authorization":
                found.add(value.split(" ", 1)[1])
                if value.startswith("Basic "):
                    found.add(base64.b64decode(value.split(" ", 1)[1]).decode())
            elif name.lower() == "x-wsse":
                found.update(re.findall(r'PasswordDigest="([^"]+)"', value))
    return found


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("overrides", "succeeds", "secret_kinds"),
    [
        pytest.param({}, True, ("Bearer ", "Basic "), id="oauth-run"),
        pytest.param(WSSE, True, ("PasswordDigest",), id="wsse-run"),
        pytest.param({"client_secret": "wrong-secret-4711"}, False, ("Basic ",), id="oauth-401"),
        pytest.param(
            {**WSSE, "secret": "wrong-secret-4712"}, False, ("PasswordDigest",), id="wsse-401"
        ),
    ],
)
def test_debug_logging_never_shows_a_secret(
    sb: Sandbox,
    tmp_path: Path,
    overrides: dict[str, Any],
    succeeds: bool,
    secret_kinds: tuple[str, ...],
) -> None:
    # A token cache of its own, so that the run sends the client secret to be looked for.
    config = _small(sb, token_cache_dir=str(tmp_path / "tokens"), **overrides)
    result = _cli(tmp_path, config, debug=True)
    assert (result.returncode == 0) is succeeds, result.stderr
    assert "DEBUG" in result.stderr, "debug logging was on"
    headers = " ".join(" ".join(e.headers.values()) for e in sb.requests)
    for kind in secret_kinds:
        assert kind in headers, f"the run sent a {kind.strip()} credential"
    secrets = _secrets_seen(sb, config)
    assert len(secrets) >= 2
    output = result.stdout + result.stderr
    leaked = sorted(s for s in secrets if s in output)
    assert leaked == []

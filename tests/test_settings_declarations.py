"""Each setting is declared once: schema, default, validation and secrecy come from one place.

No sandbox is needed: these tests parse config mappings the way the tap does after
the SDK has validated them against the schema.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from singer_sdk import typing as th

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.cache import TokenCacheSettings
from tap_emarsys_registrations.settings.credentials import OAuthCredentials, WsseCredentials
from tap_emarsys_registrations.settings.declare import (
    DECLARATION,
    Declaration,
    Group,
    declarations,
    json_schema,
    read_declared,
    setting,
)
from tap_emarsys_registrations.settings.export import ExportOptions
from tap_emarsys_registrations.settings.remote import RemoteSettings
from tap_emarsys_registrations.settings.schema import CONFIG_SCHEMA
from tap_emarsys_registrations.settings.tap_settings import Settings
from tap_emarsys_registrations.settings.values import read_flag, read_text, read_verbatim

PACKAGE = Path(__file__).resolve().parents[1] / "tap_emarsys_registrations"
SETTINGS_CLASSES = (
    Settings,
    OAuthCredentials,
    WsseCredentials,
    TokenCacheSettings,
    ExportOptions,
    RemoteSettings,
)
SECRETS = {
    "client_secret": "oauth-secret-4f1c9a",
    "secret": "wsse-secret-77b2e0",
    "password": " ftp pass-93d1 ",
    "store_password": "store-pass-5e0b71",
}
SERVER = {"host": "h.example", "username": "u", "password": SECRETS["password"]}
OAUTH_FTP = {
    "client_id": "client-1",
    "client_secret": SECRETS["client_secret"],
    "start_date": "2024-01-01T00:00:00Z",
    "distribution_method": "ftp",
    "ftp_settings": SERVER,
    "token_cache_url": f"postgresql://tap:{SECRETS['store_password']}@db.example:5432/meltano",
}
WSSE_SFTP = {
    "username": "api-user",
    "secret": SECRETS["secret"],
    "start_date": "2024-01-01",
    "distribution_method": "sftp",
    "ftp_settings": SERVER,
}


def _every_declaration() -> list[Declaration]:
    """Every setting, reached from ``Settings`` through its sections."""
    every = list(declarations(Settings))
    for cls in SETTINGS_CLASSES:
        assert set(declarations(cls)) <= set(every), f"{cls.__name__} is not in a section"
    return every


def _objects(value: object) -> list[object]:
    """``value`` and every settings object inside it (the attribute values themselves not)."""
    found: list[object] = []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found.append(value)
        for item in dataclasses.fields(value):
            found.extend(_objects(getattr(value, item.name)))
    return found


@pytest.mark.parametrize("config", [OAUTH_FTP, WSSE_SFTP], ids=["oauth-ftp", "wsse-sftp"])
def test_no_parsed_settings_object_shows_a_secret(config: dict[str, Any]) -> None:
    settings = Settings.from_config(config)
    objects = _objects(settings)
    kinds = {type(o) for o in objects}
    assert {Settings, ExportOptions, RemoteSettings, TokenCacheSettings} <= kinds
    assert kinds & {OAuthCredentials, WsseCredentials}
    for obj in objects:
        for secret in SECRETS.values():
            assert secret not in repr(obj), type(obj).__name__
            assert secret not in str(obj), type(obj).__name__
            assert secret.strip() not in repr(obj), type(obj).__name__
    # The secrets were parsed, not dropped: they are there for the code that needs them.
    remote = settings.export.remote
    assert remote is not None
    assert remote.password == SECRETS["password"], "a password is kept as given"
    assert remote.request_settings()["password"] == SECRETS["password"]
    used = (
        settings.credentials.client_secret
        if isinstance(settings.credentials, OAuthCredentials)
        else settings.credentials.secret
    )
    assert used in SECRETS.values()
    store = settings.token_cache.url
    if store is not None:  # kept for the connection, shown masked
        assert SECRETS["store_password"] in store.conninfo
        assert store.masked == "postgresql://tap:***@db.example:5432/meltano"


def test_every_secret_setting_is_hidden_from_repr_by_its_declaration() -> None:
    for cls in SETTINGS_CLASSES:
        for item in dataclasses.fields(cls):
            declared = item.metadata.get(DECLARATION)
            if declared is not None:
                assert item.repr is not declared.secret, f"{cls.__name__}.{item.name}"
        module = Path(inspect.getsourcefile(cls) or "")
        tree = ast.parse(module.read_text(encoding="utf-8"))
        written = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        assert "__repr__" not in {n.name for n in written}, f"{module.name}: a hand-written repr"
    secret_names = {d.path for d in _every_declaration() if d.secret}
    assert secret_names == {"client_secret", "secret", "ftp_settings.password", "token_cache_url"}


def test_the_schema_holds_every_declared_setting_once_and_nothing_else() -> None:
    every = _every_declaration()
    paths = [d.path for d in every]
    assert len(paths) == len(set(paths)), "no setting is declared twice"
    # The SDK adds its own settings (stream_maps...) to the tap's schema once a tap is
    # built; the tap's own come first, generated from the declarations.
    schema = json_schema(Settings)
    own = list(CONFIG_SCHEMA["properties"])[: len(schema["properties"])]
    assert own == list(schema["properties"])
    schema_paths: list[str] = []
    for name, spec in schema["properties"].items():
        if "properties" in spec:
            schema_paths.extend(f"{name}.{key}" for key in spec["properties"])
        else:
            schema_paths.append(name)
    assert schema_paths == paths, "the schema lists the declarations in their order"
    for declared in every:
        spec = schema["properties"]
        if declared.group is not None:
            spec = spec[declared.group.name]["properties"]
        spec = spec[declared.name]
        assert spec.get("default") == declared.default, declared.path
        assert spec.get("title") == declared.title
        assert bool(spec.get("secret")) is declared.secret


def _minimal(**extra: Any) -> dict[str, Any]:
    return {"client_id": "c", "client_secret": "s", "start_date": "2024-01-01", **extra}


def test_the_parser_falls_back_to_the_declared_defaults() -> None:
    defaults = {d.path: d.default for d in _every_declaration() if d.default is not None}
    assert len(defaults) >= 15, "most settings have a default"
    # The SDK fills in the schema's defaults before the tap parses; without them
    # the parser must arrive at the same settings.
    assert Settings.from_config(_minimal()) == Settings.from_config(_minimal(**defaults))
    parsed = Settings.from_config(_minimal())
    assert parsed.window == dt.timedelta(hours=defaults["window_hours"])
    assert parsed.safety_lag == dt.timedelta(minutes=defaults["safety_lag_minutes"])
    assert parsed.poll_interval == defaults["poll_interval_seconds"]
    assert parsed.export.language == defaults["language"]
    assert parsed.export.delimiter == defaults["delimiter"]
    assert str(parsed.export_timezone) == defaults["export_timezone"]
    assert parsed.api_url == defaults["api_url"]


def _module_constants(path: Path) -> list[tuple[object, bool]]:
    """Every constant in a module, and whether it is the ``default=`` of a ``setting()``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared: set[int] = set()
    allowed: set[int] = set()  # the allowed values hold the default, and mean those values
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setting":
            declared.update(id(k.value) for k in node.keywords if k.arg == "default")
            for keyword in node.keywords:
                if keyword.arg == "allowed":
                    allowed.update(id(n) for n in ast.walk(keyword.value))
    return [
        (node.value, id(node) in declared)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and not isinstance(node.value, bool)
        and id(node) not in allowed
    ]


# Constants equal to a default that mean something else.
NOT_A_DEFAULT = {
    ("en", "tap.py"),  # the field catalog is always read in English too
    # The WSSE sunset falls in Emarsys' own zone, whatever export_timezone says.
    ("Europe/Vienna", "emarsys/wsse_sunset.py"),
}


def test_every_default_is_written_once() -> None:
    """A default is spelled in its declaration, or in one named constant that it uses."""
    spelled: dict[object, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        for value, in_declaration in _module_constants(path):
            if (value, name) in NOT_A_DEFAULT:
                continue
            where = f"{name}{' (declared)' if in_declaration else ''}"
            spelled.setdefault(value, []).append(where)
    for declared in _every_declaration():
        if declared.default is None or isinstance(declared.default, bool):
            continue
        places = spelled.get(declared.default, [])
        if isinstance(declared.default, str):
            assert len(places) == 1, f"{declared.path}: default spelled in {places}"
        else:  # a number: its declaration is the only place in the settings modules
            here = [p for p in places if p.startswith("settings/")]
            assert here == [p for p in here if p.endswith("(declared)")], declared.path
            assert here, f"{declared.path}: its default is declared with the setting"


# The declaration machinery itself, on a made-up settings object.

GROUP = Group("server", title="Server", description="A server.")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Example:
    name: str = setting("name", th.StringType, read_text, default="n", title="N", description="")
    host: str = setting("host", th.StringType, read_text, group=GROUP, title="H", description="")
    token: str = setting(
        "token", th.StringType, read_verbatim, secret=True, group=GROUP, title="T", description=""
    )
    flag: bool = setting(
        "flag", th.BooleanType, read_flag, default=False, title="F", description=""
    )


def test_a_group_key_is_one_declaration_and_lands_in_its_object() -> None:
    schema = json_schema(_Example)
    assert list(schema["properties"]) == ["name", "server", "flag"]
    assert list(schema["properties"]["server"]["properties"]) == ["host", "token"]
    assert schema["properties"]["server"]["properties"]["token"]["secret"] is True
    values = read_declared(_Example, {"server": {"host": " h ", "token": " t "}})
    example = _Example(**values)
    assert (example.name, example.host, example.token, example.flag) == ("n", "h", " t ", False)
    assert " t " not in repr(example)
    assert "'h'" in repr(example)


def test_a_group_key_names_its_object_in_errors_without_showing_a_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        read_declared(_Example, {"server": {"host": "h", "token": 1234567}})
    assert caught.value.setting == "server.token"
    assert "1234567" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        read_declared(_Example, {"flag": "yes"})
    assert caught.value.setting == "flag"


def test_a_setting_declared_twice_is_refused() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Twice:
        a: str = setting("same", th.StringType, read_text, title="A", description="")
        b: str = setting("same", th.StringType, read_text, title="B", description="")

    with pytest.raises(ValueError, match="'same' is declared twice"):
        json_schema(Twice)

    @dataclass(frozen=True, kw_only=True)
    class TwiceInAGroup:
        a: str = setting("k", th.StringType, read_text, group=GROUP, title="A", description="")
        b: str = setting("k", th.StringType, read_text, group=GROUP, title="B", description="")

    with pytest.raises(ValueError, match=r"'server\.k' is declared twice"):
        json_schema(TwiceInAGroup)

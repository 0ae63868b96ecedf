"""Each setting declared once, as an attribute of the frozen settings object it fills.

An attribute declared with :func:`setting` carries the setting's config key, JSON
type, title, description, default, reader (which validates the raw value) and
whether it is secret. From these declarations come the JSON schema behind
``--about`` (and from it ``plugin.yml``, the ``meltano.yml`` block and the README
table), the parsed values with their defaults, and a ``repr`` without secrets.
Keys of a config object such as ``ftp_settings`` are declared through a
:class:`Group`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from singer_sdk import typing as th

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

DECLARATION: Final = "setting"
SECTION: Final = "section"


class Reader(Protocol):
    """Turns a setting's raw config value (None when unset) into its typed value.

    Raises ``ConfigError`` naming ``declaration.path`` when the value is wrong.
    """

    def __call__(self, raw: Any, declaration: Declaration, /) -> Any:  # noqa: ANN401
        """Read one value."""


@dataclass(frozen=True, slots=True)
class Group:
    """A config object whose keys are settings of their own, e.g. ``ftp_settings``."""

    name: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Declaration:
    """Everything about one setting; see :func:`setting`."""

    name: str
    type: th.JSONTypeHelper[Any]
    title: str
    description: str
    read: Reader
    default: Any = None
    secret: bool = False
    required: bool = False
    allowed: tuple[str, ...] | None = None
    group: Group | None = None

    @property
    def path(self) -> str:
        """The name in messages: ``window_hours``, or ``ftp_settings.host`` in a group."""
        return f"{self.group.name}.{self.name}" if self.group else self.name

    def value(self, config: Mapping[str, Any]) -> Any:  # noqa: ANN401
        """The typed value from ``config`` (the group's object for a group key)."""
        return self.read(config.get(self.name), self)

    def property(self) -> th.Property[Any]:
        """The JSON schema property."""
        return th.Property(
            self.name,
            self.type,
            required=self.required,
            default=self.default,
            secret=self.secret,
            allowed_values=list(self.allowed) if self.allowed else None,
            title=self.title,
            description=self.description,
        )


def setting(
    name: str,
    type_: th.JSONTypeHelper[Any] | type[th.JSONTypeHelper[Any]],
    read: Reader,
    *,
    title: str,
    description: str,
    default: Any = None,  # noqa: ANN401
    secret: bool = False,
    required: bool = False,
    allowed: tuple[str, ...] | None = None,
    group: Group | None = None,
) -> Any:  # noqa: ANN401 - a dataclass field, typed by the attribute it declares
    """Declare the dataclass attribute that holds setting ``name``.

    Args:
        name: The config key (within ``group`` for a key of a config object).
        type_: Its JSON schema type.
        read: Validates the raw value and returns the attribute's value.
        title: Short label (Meltano UI, README).
        description: One or two sentences for users.
        default: The default, written only here: the schema carries it, and the
            reader falls back to it.
        secret: Marked secret in the schema, and left out of the object's ``repr``.
        required: Required in the schema.
        allowed: The only values allowed (an ``enum`` in the schema).
        group: The config object the key belongs to.
    """
    wrapped = type_() if isinstance(type_, type) else type_
    declaration = Declaration(
        name, wrapped, title, description, read, default, secret, required, allowed, group
    )
    return dataclasses.field(metadata={DECLARATION: declaration}, repr=not secret)


def section(*classes: type) -> Any:  # noqa: ANN401 - a dataclass field
    """Declare an attribute filled from the settings of ``classes``, laid out here in the schema."""
    return dataclasses.field(metadata={SECTION: classes})


def declaration(cls: type, attribute: str) -> Declaration:
    """The declaration of ``cls.attribute``."""
    found: Declaration = next(
        f.metadata[DECLARATION] for f in dataclasses.fields(cls) if f.name == attribute
    )
    return found


def declarations(cls: type) -> Iterator[Declaration]:
    """The settings declared by ``cls`` and its sections, in schema order."""
    for field in dataclasses.fields(cls):
        if DECLARATION in field.metadata:
            yield field.metadata[DECLARATION]
        for nested in field.metadata.get(SECTION, ()):
            yield from declarations(nested)


def read_declared(
    cls: type,
    config: Mapping[str, Any],
    **given: Any,  # noqa: ANN401 - values of any declared type
) -> dict[str, Any]:
    """The values of ``cls``' declared attributes read from ``config``, and ``given``.

    Attributes named in ``given`` are not read. A group key is read from its
    object in ``config``, which the caller has checked is a mapping.
    """
    values = dict(given)
    for field in dataclasses.fields(cls):
        found = field.metadata.get(DECLARATION)
        if found is None or field.name in given:
            continue
        source = (config.get(found.group.name) or {}) if found.group else config
        values[field.name] = found.value(source)
    return values


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON schema of every setting ``cls`` declares; a group becomes one object.

    Raises:
        ValueError: a setting is declared twice.
    """
    every = list(declarations(cls))
    paths = [item.path for item in every]
    twice = sorted({path for path in paths if paths.count(path) > 1})
    if twice:
        msg = f"setting {twice[0]!r} is declared twice"
        raise ValueError(msg)
    properties: list[th.Property[Any]] = []
    seen: set[str] = set()
    for item in every:
        name = item.group.name if item.group else item.name
        if name in seen:
            continue
        seen.add(name)
        if item.group is None:
            properties.append(item.property())
            continue
        keys = [other.property() for other in every if other.group is item.group]
        group = item.group
        properties.append(
            th.Property(
                group.name, th.ObjectType(*keys), title=group.title, description=group.description
            )
        )
    return th.PropertiesList(*properties).to_dict()

"""Deterministic, typed contact field values and their CSV rendering.

Each field has a fixed pool of values (built once, lazily). A contact's value for a
field is picked from the pool by a hash of the contact key, so values cost one
multiplication to look up and never need to be stored.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from sandbox.fields import exportable_ids

Value = str | int | Decimal | date | None
"""A typed field value as the dataset holds it."""

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

LONG_TEXT = ('Lorem ipsum dolor sit amet, consectetur; "adipiscing" elit.\n' * 34)[:2000]

QUIRKS: tuple[str | None, ...] = (
    "Smith, John",
    "Semi;colon",
    'Say "hi"',
    "Line1\nLine2",
    "Win\r\nBreak",
    "Zoë Ä ßtraße",
    "東京",
    "Party 🎉",
    "مرحبا بالعالم",
    "  padded  ",
    None,
    LONG_TEXT,
    '"quoted, and;semi"\r\nnext',
    " leading",
    "trailing ",
)
"""Awkward values guaranteed to appear (in the special hourly registrations)."""

QUIRK_FIELDS: tuple[int, ...] = (1, 2, 18, 5003)
"""Fields that carry a quirk when a registration has one."""

_FIRST = (
    "Anna",
    "Lukas",
    "Jürgen",
    "Zoë",
    "Renée",
    "Søren",
    "François",
    "Łukasz",
    "Ayşe",
    "Maria",
    "Jonas",
    "Emma",
    "Noah",
    "Mia",
    "Ólafur",
    "Sofía",
    "Ingrid",
    "Kenji",
)
_LAST = (
    "Müller",
    "Gruber",
    "Huber",
    "Wagner",
    "Bauer",
    "O'Brien",
    "García",
    "Nowak",
    "Schmidt",
    "Novák",
    "Yılmaz",  # noqa: RUF001 - a real Turkish name
    "Svensson",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Kovač",
)
_COUNTRIES = (
    "Österreich",
    "Deutschland",
    "Schweiz",
    "United Kingdom",
    "Japan",
    "Türkiye",
    "Côte d'Ivoire",
    "Korea, Republic of",
    "France",
    "Polska",
)
_CITIES = (
    "Wien",
    "Graz",
    "Linz",
    "München",
    "Zürich",
    "東京",
    "Saint-Étienne",
    "Washington, D.C.",
    "Kraków",
    "İstanbul",
)
_STATES = ("Wien", "Steiermark", "Bayern", "Zürich", "Tokyo-to", "Île-de-France")


def _pick(rng: random.Random, items: tuple[str, ...], empty: float = 0.1) -> str | None:
    return None if rng.random() < empty else rng.choice(items)


def _quirky(rng: random.Random, items: tuple[str, ...]) -> str | None:
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(QUIRKS)
    return None if roll < 0.2 else rng.choice(items)


def _day(rng: random.Random, first: date, span_days: int, empty: float = 0.15) -> date | None:
    return None if rng.random() < empty else first + timedelta(days=rng.randrange(span_days))


def _email(rng: random.Random) -> str | None:
    name = rng.choice(("anna.mueller", "J.Doe+news", "zoe", "info", "max_mustermann"))
    return None if rng.random() < 0.03 else f"{name}{rng.randrange(1000)}@example.com"


def _points(rng: random.Random) -> Decimal | None:
    whole = rng.choice((0, 7, 12, 250, 99999, 123456789012345678901))
    return None if rng.random() < 0.2 else Decimal(f"{whole}.{rng.randrange(100):02d}")


Generator = Callable[[random.Random], Value]
_PHONES = ("+43 1 2345678", "+49 (89) 123-456", "0664/1234567")
_ADDRESSES = (
    "Mariahilfer Straße 1",
    "Hauptplatz 3, Stiege 2",
    "Ringstraße 5\nTop 7",
    "Bahnhofstr. 10",
)
_ZIPS = ("1010", "8010", "80331", "01067", "8001", "100-0001")
_INTERESTS = ("Sports", "Travel,Music", "Cooking", "Sports,Travel,Cars")
_COMPANIES = ('ACME "Best" GmbH', "Müller & Söhne", "Foo; Bar Ltd", "Example AG")
_NOTES = ("VIP customer", "Prefers phone; not e-mail", "Rückruf erbeten\nab 17 Uhr")

_GENERATORS: dict[int, Generator] = {
    0: lambda rng: _pick(rng, _INTERESTS, 0.3),
    1: lambda rng: _quirky(rng, _FIRST),
    2: lambda rng: _quirky(rng, _LAST),
    3: _email,
    4: lambda rng: _day(rng, date(1940, 1, 1), 24000),
    10: lambda rng: _pick(rng, _ADDRESSES),
    11: lambda rng: _pick(rng, _CITIES),
    12: lambda rng: _pick(rng, _STATES, 0.4),
    13: lambda rng: _pick(rng, _ZIPS),
    14: lambda rng: _pick(rng, _COUNTRIES),
    15: lambda rng: _pick(rng, _PHONES, 0.3),
    18: lambda rng: _quirky(rng, _COMPANIES),
    30: lambda rng: None if rng.random() < 0.3 else rng.randrange(101),
    38: lambda rng: _quirky(rng, _FIRST),
    40: lambda rng: _day(rng, date(2010, 1, 1), 5000, 0.4),
    48: lambda rng: _day(rng, date(2015, 1, 1), 3000, 0.0),
    5001: _points,
    5003: lambda rng: _quirky(rng, _NOTES),
}
_SAME_AS = {16: 15, 21: 15, 22: 15, 37: 15, 39: 4, 41: 10, 42: 13, 43: 11, 44: 12, 45: 14, 5002: 40}
_SAME_AS |= {6000 + n: (1, 2, 11, 18)[n % 4] for n in range(1, 17)}
_SAME_AS |= {6000 + n: 5001 for n in range(17, 21)}


_CHOICES: dict[int, tuple[str, ...]] = {
    5: ("Female", "Male"),
    6: ("Single", "Married", "Divorced", "Widowed"),
    7: ("0", "1", "2", "3", "4", "5 or more"),
    8: ("Primary school", "Secondary school", "University degree"),
    9: ("Dr.", "Prof.", "Mag.", "Dipl.-Ing."),
    17: ("CEO", "Manager", "Engineer", "Assistant"),
    19: ("Marketing", "Sales", "IT", "HR"),
    20: ("Retail", "Banking, Finance", "Manufacturing", "Tourism"),
    23: ("1-10", "11-50", "51-200", "more than 200"),
    24: ("< 1000", "1000-5000", "> 5000"),
    25: ("https://example.com/", "https://example.org/a?b=1&c=2", "http://例え.jp"),
    26: ("HTML", "Text"),
    31: ("True", "False"),
    34: ("Newsletter signup", "Gewinnspiel 2024"),
    35: ("English", "Deutsch"),
    36: ("True", "False"),
    46: ("Mr.", "Mrs.", "Ms.", "Dr."),
    47: ("True", "False"),
    5004: ("Red", "Blue", "Grün", "紫"),
    5005: ("VCH-4F2A-91", "VCH-77B0-03", "VCH-0000-00"),
}


def _generate(fid: int, rng: random.Random) -> Value:
    generator = _GENERATORS.get(_SAME_AS.get(fid, fid))
    if generator is not None:
        return generator(rng)
    return _pick(rng, _CHOICES.get(fid, ("Other",)))


_POOL_SIZE = 257


def render_value(value: Value) -> str:
    """Render a typed value as it appears in an export CSV cell."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@cache
def _pools() -> dict[int, tuple[tuple[Value, ...], tuple[str, ...], int]]:
    """Return ``{field id: (typed pool, rendered pool, salt)}`` for exportable fields."""
    pools: dict[int, tuple[tuple[Value, ...], tuple[str, ...], int]] = {}
    for fid in sorted(exportable_ids()):
        rng = random.Random(f"pool:{fid}")
        typed = tuple(_generate(fid, rng) for _ in range(_POOL_SIZE))
        salt = rng.getrandbits(64)
        pools[fid] = (typed, tuple(render_value(v) for v in typed), salt)
    return pools


def _index(key: int, size: int, salt: int) -> int:
    return ((((key ^ salt) * _GOLDEN) & MASK64) >> 32) % size


def value_of(fid: int, key: int, quirk: int = -1) -> Value:
    """Return the typed value of field ``fid`` for the contact with ``key``."""
    if quirk >= 0 and fid in QUIRK_FIELDS:
        return QUIRKS[(quirk + QUIRK_FIELDS.index(fid)) % len(QUIRKS)]
    typed, _, salt = _pools()[fid]
    return typed[_index(key, len(typed), salt)]


def rendered_of(fid: int, key: int, quirk: int = -1) -> str:
    """Return the CSV rendering of field ``fid`` for the contact with ``key`` (fast path)."""
    if quirk >= 0 and fid in QUIRK_FIELDS:
        return render_value(value_of(fid, key, quirk))
    _, rendered, salt = _pools()[fid]
    return rendered[_index(key, len(rendered), salt)]


def cells_renderer(field_ids: tuple[int, ...]) -> Callable[[int, int], list[str]]:
    """Return a fast ``(key, quirk) -> rendered cells`` function for these fields, in order."""
    pools = _pools()
    lookups = [(pools[fid][1], pools[fid][2], len(pools[fid][1])) for fid in field_ids]

    def cells(key: int, quirk: int) -> list[str]:
        if quirk >= 0:
            return [rendered_of(fid, key, quirk) for fid in field_ids]
        return [
            rendered[(((key ^ salt) * _GOLDEN & MASK64) >> 32) % size]
            for rendered, salt, size in lookups
        ]

    return cells


def all_values(key: int, quirk: int = -1) -> dict[int, Value]:
    """Return every exportable field's typed value for one contact."""
    return {fid: value_of(fid, key, quirk) for fid in sorted(exportable_ids())}


def mix64(value: int) -> int:
    """Return the splitmix64 finaliser of ``value`` (a well-spread 64-bit hash)."""
    x = (value + _GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)

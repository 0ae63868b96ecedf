"""A row-to-record function compiled once per export: the hot path of the tap.

For a million-row export the per-row cost decides throughput. The function is
generated from the export's columns, so each record is one dict display with
the casts inlined and no per-cell loop or lookup. Keys are emitted with
``repr`` and indices are integers, so no text from the API can inject code.
It raises on anything unusual (a bad width, number, date or an empty timestamp,
which would be a null key), and the caller
then takes the checked path, which handles the odd cases and names the row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tap_emarsys_registrations.fields import Field

_ISO_DATE_LENGTH = 10


def fast_number(raw: str) -> Decimal | None:
    """A plain decimal, else raise (the checked path handles the rest)."""
    if not raw:
        return None
    value = Decimal(raw)
    if value.is_finite():
        return value
    raise ValueError(raw)


def fast_date(raw: str) -> str | None:
    """A valid ``YYYY-MM-DD`` as is, else raise (the checked path converts other layouts)."""
    if not raw:
        return None
    if len(raw) != _ISO_DATE_LENGTH:
        raise ValueError(raw)
    dt.date.fromisoformat(raw)
    return raw


def _missing_timestamp(row: list[str]) -> str:
    """An empty timestamp cell: raise, so the checked path names the row."""
    raise ValueError(row)


def compile_row_function(
    fields: Sequence[Field],
    *,
    with_timestamp: bool,
    window_start: str,
    window_end: str,
    to_utc: Callable[[str], str],
) -> Callable[[list[str]], dict[str, Any] | None]:
    """Build ``row -> record`` (None for a row outside ``[window_start, window_end)``)."""
    width = 1 + len(fields) + (1 if with_timestamp else 0)
    lines = ["def build(row):", f"    if len(row) != {width}:", "        raise ValueError(row)"]
    if with_timestamp:
        lines += [
            f"    registered_at = to_utc(row[{width - 1}] or missing(row))",
            "    if not low <= registered_at < high:",
            "        return None",
        ]
    else:
        lines.append("    registered_at = None")
    items = ["'user_id': int(row[0])", "'registered_at': registered_at", "'window_start': start"]
    for index, field in enumerate(fields, start=1):
        cell = f"row[{index}]"
        value = {"number": f"number({cell})", "date": f"date({cell})"}.get(
            field.kind,
            f"{cell} or None",
        )
        items.append(f"{field.property_name!r}: {value}")
    lines.append("    return {" + ", ".join(items) + "}")
    namespace: dict[str, Any] = {
        "to_utc": to_utc,
        "low": window_start,
        "high": window_end,
        "start": window_start,
        "number": fast_number,
        "date": fast_date,
        "missing": _missing_timestamp,
    }
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from integers and repr()s
    function: Callable[[list[str]], dict[str, Any] | None] = namespace["build"]
    return function

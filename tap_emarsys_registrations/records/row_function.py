"""The row-to-record rules of one export, compiled once into a function.

For a million-row export the per-row cost decides throughput, so the rules
are turned into Python source from the export's columns: each record is one
dict display with the casts inlined, and no per-cell loop or lookup. This is
the only place the rules are written:

- a row has ``user_id``, the requested fields in request order and, when
  asked for, the timestamp: any other width is an error;
- ``user_id`` is an integer;
- the timestamp (local wall time) becomes UTC; a row outside
  ``[window_start, window_end)`` gives None (rows of the overlap the request
  adds on each side), before its values are cast; an empty timestamp is an
  error, since ``registered_at`` is part of the primary key;
- a text cell is kept as it is, ``''`` is null; number and date cells go
  through their cast (csv_records.py).

Timestamps repeat from row to row (an export lists registrations by time),
so the last one converted is kept with its window test. Keys are emitted with
``repr`` and indices are integers, so no text from the API can reach the code.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tap_emarsys_registrations.errors import CSVFormatError
    from tap_emarsys_registrations.fields import Field

_NULL_KEY = (
    "user_id {} has no registration time; registered_at is part of the primary key "
    "and cannot be null"
)
_ROW_PROBLEMS = "    except ValueError as exc:\n        raise error(number, str(exc)) from None"


def compile_rows(
    fields: Sequence[Field],
    *,
    with_timestamp: bool,
    window_start: str,
    window_end: str,
    to_utc: Callable[[str], str],
    casts: Mapping[str, Callable[[str], Any]],
    error: Callable[[int, str], CSVFormatError],
    grid_starts: Sequence[str] = (),
) -> tuple[
    Callable[[list[str], int], dict[str, Any] | None],
    Callable[[list[str], int], dict[str, Any]],
]:
    """Build ``(row, row number) -> record or None`` and ``(row, row number) -> field values``.

    ``casts`` maps a field kind (``number``, ``date``) to its cast; a cast
    raises ValueError with a message, which ``error`` turns into the row's
    error. Text fields need no cast. ``grid_starts`` are the starts of the grid
    windows an export spans (UTC strings, ascending, the first ``window_start``);
    with more than one, each record's ``window_start`` is the one holding it.
    """
    spans_grid = with_timestamp and len(grid_starts) > 1
    width = 1 + len(fields) + (1 if with_timestamp else 0)
    namespace: dict[str, Any] = {
        "to_utc": to_utc,
        "low": window_start,
        "high": window_end,
        "start": window_start,
        "error": error,
        "last_raw": None,
        "last_utc": None,
        "last_inside": True,
        "last_start": window_start,
        "starts": list(grid_starts),
        "bisect_right": bisect_right,
    }
    items = []
    for index, field in enumerate(fields, start=1):
        cell = f"row[{index}]"
        if field.kind in casts:
            name = f"cast_{index}"
            namespace[name] = casts[field.kind]
            items.append(f"{field.property_name!r}: {name}({cell})")
        else:
            items.append(f"{field.property_name!r}: {cell} or None")
    lines = [
        "def build(row, number):",
        "    global last_raw, last_utc, last_inside, last_start",
        "    try:",
        f"        if len(row) != {width}:",
        f"            raise ValueError(f'{{len(row)}} columns, expected {width}')",
        "        try:",
        "            user_id = int(row[0])",
        "        except ValueError:",
        "            raise ValueError(f'user_id {row[0]!r} is not an integer') from None",
    ]
    if with_timestamp:
        lines += [
            f"        raw = row[{width - 1}]",
            "        if raw != last_raw:",
            "            if not raw:",
            f"                raise ValueError({_NULL_KEY!r}.format(user_id))",
            "            utc = to_utc(raw)",
            "            last_inside = low <= utc < high",
            "            last_raw, last_utc = raw, utc",
            *(
                ["            last_start = starts[bisect_right(starts, utc) - 1]"]
                if spans_grid
                else []
            ),
            "        if not last_inside:",
            "            return None",
            "        registered_at = last_utc",
        ]
    else:
        lines.append("        registered_at = None")
    stamp = "last_start" if spans_grid else "start"
    record = ["'user_id': user_id", "'registered_at': registered_at", f"'window_start': {stamp}"]
    lines += [
        "        return {" + ", ".join(record + items) + "}",
        _ROW_PROBLEMS,
        "",
        "def values(row, number):",
        "    try:",
        "        return {" + ", ".join(items) + "}",
        _ROW_PROBLEMS,
    ]
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from integers and repr()s
    return namespace["build"], namespace["values"]

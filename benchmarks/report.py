"""The one results table: rows, targets, PASS/FAIL, markdown rendering."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from procs import RunResult

BACKFILL_WINDOWS = 24


@dataclass
class Row:
    """One line of the table; ``ok`` is None for rows without a target."""

    key: str
    metric: str
    value: str
    detail: str = ""
    target: str = "-"
    ok: bool | None = None

    @property
    def status(self) -> str:
        if self.ok is None:
            return "info"
        return "PASS" if self.ok else "FAIL"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def at_least(value: float, limit: float) -> bool:
    return value >= limit


def rate(rows: int | None, seconds: float) -> str:
    if not rows or seconds <= 0:
        return "n/a"
    return f"{rows / seconds:,.0f} rows/s"


def secs(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s"


def render(rows: list[Row]) -> str:
    header = ["#", "Measurement", "Result", "Details", "Target", "Status"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---", "---:", "---", "---", ":---:"]) + "|",
    ]
    for row in rows:
        cells = [row.key, row.metric, row.value, row.detail, row.target, row.status]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def build_rows(
    tp: dict[str, Any],
    bf: dict[str, Any],
    *,
    scale: float,
    repeat: int,
    fields: int,
) -> list[Row]:
    """The table rows from the throughput/memory (tp) and backfill/polling (bf) results."""
    a, b, c, d, raw = tp["a"], tp["b"], tp["c"], tp["d"], tp["raw"]
    n = a.rows

    def median(r: RunResult) -> str:
        if repeat == 1:
            return ""
        return f"median of {repeat} alternated, spread {r.spread:.0%}; "

    def run_detail(r: RunResult, extra: str = "", prefix: str = "") -> str:
        cost = f"{r.wall_s:.2f} s wall, {r.cpu_s:.2f} s CPU, RSS {r.maxrss_mib:.0f} MiB"
        return f"{prefix}{cost}, {r.rows:,} rows{extra}"

    rows = [
        Row(
            "1a",
            f"Tap CLI, 1 export of {n:,} rows x {fields} fields",
            rate(n, a.wall_s),
            run_detail(a, f"; first RECORD {secs(tp['ttfr_a'])}", median(a)),
        ),
        Row(
            "1b",
            "Floor: requests+csv+msgspec",
            rate(b.rows, b.wall_s),
            run_detail(b, f"; first RECORD {secs(tp['ttfr_b'])}", median(b)),
        ),
        Row(
            "1c",
            "Tap with SDK defaults (SingerWriter, RECURSIVE)",
            rate(c.rows, c.wall_s),
            run_detail(c),
        ),
        Row(
            "1d",
            "Framework floor (SDK only, no HTTP/CSV)",
            rate(d.rows, d.wall_s),
            run_detail(d, prefix=median(d)),
        ),
        Row(
            "1r",
            "Sandbox delivery ceiling (download only)",
            rate(n, raw.wall_s),
            f"{raw.wall_s:.2f} s wall; the CSV sent over loopback, not parsed",
        ),
    ]
    a_b, a_d, c_a = a.wall_s / b.wall_s, a.wall_s / d.wall_s, c.wall_s / a.wall_s
    rows += [
        Row(
            "1a/b",
            "Time ratio tap / csv floor",
            f"{a_b:.2f}x",
            f"{a.wall_s:.2f} s / {b.wall_s:.2f} s (CPU {a.cpu_s / b.cpu_s:.2f}x)",
        ),
        Row(
            "1a/d",
            "Time ratio tap / framework floor",
            f"{a_d:.2f}x",
            f"{a.wall_s:.2f} s / {d.wall_s:.2f} s (CPU {a.cpu_s / d.cpu_s:.2f}x)",
            "<= 1.5",
            at_most(a_d, 1.5),
        ),
        Row(
            "1c/a",
            "Time ratio SDK defaults / tap",
            f"{c_a:.2f}x",
            f"{c.wall_s:.2f} s / {a.wall_s:.2f} s (CPU {c.cpu_s / a.cpu_s:.2f}x)",
            ">= 2.5",
            at_least(c_a, 2.5),
        ),
    ]
    unbuf = tp["a_unbuffered"]
    rows.append(
        Row(
            "1a'",
            "Tap CLI with PYTHONUNBUFFERED=1",
            rate(unbuf.rows, unbuf.wall_s),
            run_detail(unbuf, "; the writer buffers records itself"),
        )
    )
    small = tp["small"]
    big_rss, growth = a.maxrss_mib, a.maxrss_mib - small.maxrss_mib
    rows += [
        Row(
            "2a",
            f"Peak RSS, tap, {n:,} rows",
            f"{big_rss:.1f} MiB",
            "the tap's one process (os.wait4), highest of the alternated runs",
            "<= 150 MiB",
            at_most(big_rss, 150),
        ),
        Row(
            "2b",
            f"Peak RSS, tap, {small.rows:,} rows",
            f"{small.maxrss_mib:.1f} MiB",
            f"{small.wall_s:.2f} s wall",
        ),
        Row(
            "2c",
            f"Peak RSS growth {small.rows:,} -> {n:,} rows",
            f"{growth:+.1f} MiB",
            "2a - 2b",
            "<= 20 MiB",
            at_most(growth, 20),
        ),
    ]
    delay = 5 * scale
    c1, dflt = bf["c1"], bf["default"]
    ideal1, ideal4 = (
        math.ceil(BACKFILL_WINDOWS / 1) * delay,
        math.ceil(BACKFILL_WINDOWS / 4) * delay,
    )
    r1, r4, speedup = c1.wall_s / ideal1, dflt.wall_s / ideal4, c1.wall_s / dflt.wall_s
    poll_note = (
        "poll defaults (5 s, x1.5, cap 60 s)" if scale == 1 else "poll 0.5 s, cap 6 s (scaled)"
    )
    rows += [
        Row(
            "3a",
            f"Backfill 24 windows x {delay:g} s exports, C=1",
            f"{c1.wall_s:.1f} s",
            f"{r1:.2f}x ideal {ideal1:g} s; {poll_note}",
        ),
        Row(
            "3b",
            "Backfill, default C=4",
            f"{dflt.wall_s:.1f} s",
            f"{r4:.2f}x ideal ceil(24/4) x {delay:g} s = {ideal4:g} s",
            "<= 1.3x ideal",
            at_most(r4, 1.3),
        ),
        Row(
            "3c",
            "Backfill speed-up C=4 vs C=1",
            f"{speedup:.2f}x",
            f"{c1.wall_s:.1f} s / {dflt.wall_s:.1f} s",
            ">= 3.5x",
            at_least(speedup, 3.5),
        ),
    ]
    slow = 60 * scale
    rows.append(
        Row(
            "4",
            f"Status polls for one {slow:g} s export",
            str(bf["polls"]),
            f"GET /api/v3/export/{{id}} in the sandbox log; "
            f"run took {bf['poll_run'].wall_s:.1f} s; {poll_note}",
            "<= 15",
            at_most(bf["polls"], 15),
        )
    )
    parse = tp["parse"]
    casting = parse["records_us"] - parse["reader_us"]
    rows += [
        Row(
            "5a",
            "Per row: csv reader alone (decode + split)",
            f"{parse['reader_us']:.2f} us/row",
            f"the 1a body from a file, no network, no SDK; CPU, median of {parse['repeat']} "
            f"(spread {parse['reader_spread']:.0%})",
        ),
        Row(
            "5b",
            "Per row: the tap's CSV -> record (read, cast, build)",
            f"{parse['records_us']:.2f} us/row",
            f"of which casting and building {casting:.2f} us/row; spread "
            f"{parse['records_spread']:.0%}",
        ),
        Row(
            "5c",
            "Per row: tap CLI in all / framework floor",
            f"{a.cpu_s / n * 1e6:.2f} / {d.cpu_s / d.rows * 1e6:.2f} us/row",
            "CPU of 1a and 1d per row (HTTP, SDK, output included)",
        ),
    ]
    return rows

"""A 3-year sparse backfill with one burst month: one export per window vs adaptive spans.

    .venv/bin/python benchmarks/adaptive.py [--quick]

The sandbox runs in this process on a fast-forwarded clock, so its export-time model
(120 s per export plus 1 s per 1,000 rows) costs milliseconds; the tap CLI runs as a
child, once with ``max_window_hours: 24`` (one export per day, as before adaptive
windows) and once with the defaults, both with 4 exports in flight. The modelled wall
time replays the pipeline's schedule over the exports each run made: export i starts
when export i-4 has been read (the pipeline keeps 4 in flight, the one being read
included), and after the first (the probe) in the adaptive run; each takes its
modelled time. Reading and parsing are left out (the same rows in both runs). Rows are
checked against the sandbox's truth: the count and an order-free digest of the keys,
and every record's ``window_start`` on the grid.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from procs import TAP, child_env  # noqa: E402
from report import Row, at_least, at_most, render  # noqa: E402

from sandbox import Sandbox, SandboxConfig  # noqa: E402
from sandbox.profile import Burst  # noqa: E402

VIENNA = ZoneInfo("Europe/Vienna")
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
DAYS = 1096
OVERHEAD_S = 120.0
PER_THOUSAND_S = 1.0
CONCURRENCY = 4
SPEEDUP = 20_000.0  # sandbox seconds per real second
TARGET_ROWS = 250_000
MAX_EXPORTS = 40
MIN_SPEEDUP = 10.0


@dataclass
class Mode:
    """One run's exports (rows each), modelled wall time, peak RSS and row check."""

    name: str
    exports: list[int]
    wall_s: float
    maxrss_mib: float
    rows: int
    exact: bool
    grid_ok: bool


def _clock() -> Any:  # noqa: ANN401 - a callable
    base = time.time()
    return lambda: base + (time.time() - base) * SPEEDUP


def _truth(sb: Sandbox, end: dt.datetime) -> tuple[int, int]:
    count, digest = 0, 0
    for reg in sb.dataset.registrations(START, end):
        first = reg.local_time.replace(tzinfo=VIENNA, fold=0).astimezone(dt.UTC)
        digest = (digest + _key_hash(reg.user_id, first.isoformat(timespec="seconds"))) % 2**64
        count += 1
    return count, digest


def _key_hash(user_id: int, registered_at: str) -> int:
    raw = hashlib.blake2b(f"{user_id}|{registered_at}".encode(), digest_size=8).digest()
    return int.from_bytes(raw, "big")


def _schedule(durations: list[float], *, probe: bool) -> float:
    """Modelled wall time: in-order reads, ``CONCURRENCY`` exports in flight."""
    read_done: list[float] = []
    for i, duration in enumerate(durations):
        start = read_done[i - CONCURRENCY] if i >= CONCURRENCY else 0.0
        if probe and i > 0:
            start = max(start, read_done[0])
        finish = start + duration
        read_done.append(max(finish, read_done[-1] if read_done else 0.0))
    return read_done[-1] if read_done else 0.0


def _run(
    sb: Sandbox, name: str, workdir: Path, extra: dict[str, Any], truth: tuple[int, int]
) -> Mode:
    end = START + dt.timedelta(days=DAYS)
    config = {
        "client_id": sb.config.client_id,
        "client_secret": sb.config.client_secret,
        "api_url": sb.api_url,
        "token_url": sb.token_url,
        "start_date": START.isoformat(),
        "end_date": end.isoformat(),
        "window_hours": 24,
        "max_concurrent_exports": CONCURRENCY,
        "poll_interval_seconds": 0.002,
        "poll_interval_max_seconds": 0.005,
        "contact_fields": [1, 2, 3, 31],
        **extra,
    }
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    out_path, err_path = workdir / f"{name}.jsonl", workdir / f"{name}.stderr"
    first_job = len(sb.export_jobs)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [TAP, "--config", str(path)],
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env=child_env(dict(os.environ)),
        )
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        msg = f"{name} failed: {tail}"
        raise RuntimeError(msg)
    jobs = sb.export_jobs[first_job:]
    exports = []
    for job in jobs:
        low, high = (dt.datetime.fromisoformat(t) for t in job.body["time_range"])
        exports.append(sb.dataset.count_local(low, high))
    durations = [sb.config.export_time.seconds(rows) for rows in exports]
    count, digest, grid_ok = 0, 0, True
    with out_path.open() as lines:
        for line in lines:
            if not line.startswith('{"type":"RECORD"'):
                continue
            record = json.loads(line)["record"]
            count += 1
            digest = (digest + _key_hash(record["user_id"], record["registered_at"])) % 2**64
            at = dt.datetime.fromisoformat(record["registered_at"])
            grid = START + dt.timedelta(days=(at - START) // dt.timedelta(days=1))
            grid_ok &= record["window_start"] == grid.isoformat()
    out_path.unlink()
    return Mode(
        name,
        exports,
        _schedule(durations, probe=name == "adaptive"),
        usage.ru_maxrss / 1024,
        count,
        (count, digest) == truth,
        grid_ok,
    )


def measure(workdir: Path, *, quick: bool = False) -> tuple[Mode, Mode]:
    """Run both modes against one sandbox; return (fixed, adaptive)."""
    scale = 0.1 if quick else 1.0
    config = SandboxConfig(
        start=START,
        days=DAYS,
        per_day=round(300 * scale),
        bursts=(Burst(dt.date(2024, 3, 1), 31, round(20_000 * scale)),),
        export_delay_seconds=OVERHEAD_S,
        export_seconds_per_thousand_rows=PER_THOUSAND_S,
        token_ttl_seconds=1e12,
        token_limit_per_minute=None,
        token_limit_per_hour=None,
        framing="chunked",
    )
    with Sandbox(config, clock=_clock()) as sb:
        truth = _truth(sb, START + dt.timedelta(days=DAYS))
        print(f"adaptive backfill: truth {truth[0]:,} rows", file=sys.stderr)
        fixed = _run(sb, "fixed", workdir, {"max_window_hours": 24}, truth)
        print(f"  fixed: {len(fixed.exports)} exports, {fixed.wall_s:,.0f} s", file=sys.stderr)
        adaptive = _run(sb, "adaptive", workdir, {}, truth)
        print(
            f"  adaptive: {len(adaptive.exports)} exports, {adaptive.wall_s:,.0f} s; rows "
            f"per export {adaptive.exports}",
            file=sys.stderr,
        )
    return fixed, adaptive


def _after_burst_seen(exports: list[int]) -> tuple[int | None, int | None]:
    """(largest export, largest one started after the first large one was read)."""
    large = next((i for i, rows in enumerate(exports) if rows > TARGET_ROWS), None)
    if large is None:
        return max(exports, default=None), None
    later = exports[large + CONCURRENCY :]
    return max(exports), max(later, default=None)


def rows(fixed: Mode, adaptive: Mode, scale: float = 1.0) -> list[Row]:
    """The table rows: exports, modelled wall time, export sizes, rows, memory."""
    ratio = fixed.wall_s / adaptive.wall_s if adaptive.wall_s else 0.0
    largest, after = _after_burst_seen(adaptive.exports)
    detail = (
        f"3 years, {300 * scale:,.0f}/day, one month of {20_000 * scale:,.0f}/day; "
        f"{OVERHEAD_S:.0f} s + "
        f"{PER_THOUSAND_S:.0f} s per 1,000 rows per export, C={CONCURRENCY}"
    )
    return [
        Row(
            "9a",
            "Backfill exports: fixed / adaptive",
            f"{len(fixed.exports):,} / {len(adaptive.exports):,}",
            detail,
            f"adaptive <= {MAX_EXPORTS}",
            at_most(len(adaptive.exports), MAX_EXPORTS),
        ),
        Row(
            "9b",
            "Backfill modelled wall time: fixed / adaptive",
            f"{fixed.wall_s / 3600:.1f} h / {adaptive.wall_s / 60:.0f} min ({ratio:.0f}x)",
            "export waits replayed with the pipeline's schedule; reading left out",
            f">= {MIN_SPEEDUP:.0f}x shorter",
            at_least(ratio, MIN_SPEEDUP),
        ),
        Row(
            "9c",
            "Largest adaptive export / largest started after the burst was seen",
            f"{largest or 0:,} / " + (f"{after:,} rows" if after is not None else "none large"),
            f"target_rows_per_export {TARGET_ROWS:,}; the burst may land in exports "
            "already started",
            f"after <= {2 * TARGET_ROWS:,}",
            at_most(after, 2 * TARGET_ROWS) if after is not None else None,
        ),
        Row(
            "9d",
            "Backfill rows exact: fixed / adaptive",
            f"{fixed.rows:,} / {adaptive.rows:,}",
            "count and key digest equal the truth; window_start on the daily grid: "
            f"{fixed.grid_ok} / {adaptive.grid_ok}",
            "both exact",
            fixed.exact and adaptive.exact and fixed.grid_ok and adaptive.grid_ok,
        ),
        Row(
            "9e",
            "Backfill peak RSS: fixed / adaptive",
            f"{fixed.maxrss_mib:.0f} / {adaptive.maxrss_mib:.0f} MiB",
            f"tap CLI child; the adaptive run's exports hold up to {largest or 0:,} rows",
            "flat",
            adaptive.maxrss_mib <= fixed.maxrss_mib * 1.25,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tap-bench-adaptive-") as tmp:
        fixed, adaptive = measure(Path(tmp), quick=args.quick)
    print(render(rows(fixed, adaptive, 0.1 if args.quick else 1.0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Performance benchmark of tap-emarsys-registrations against the local sandbox.

    .venv/bin/python benchmarks/run.py [--quick] [--json PATH] [--repeat N]

Prints ONE markdown table: throughput (tap CLI, csv+msgspec floor, SDK defaults,
framework floor; 1a, 1b and 1d alternated, medians), the per-row cost of parsing
and casting alone, peak RSS at 100k and 1M rows, backfill wall time at 1 and 4
concurrent exports, status polls for one slow export, and a 3-year sparse backfill
with one export per day vs adaptive spans (benchmarks/adaptive.py). Every measured program
is a separate child process (the tap runs in one process) with stdout to
/dev/null, reaped with os.wait4 so its peak RSS and CPU are its own. ``--quick``
scales rows and waits (and, so the ratios keep their meaning, the poll intervals)
down 10x.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import adaptive
import procs
from procs import PYTHON, TAP, RunResult, SandboxProc, helper, run_timed, tap_config
from report import build_rows, render

FIELDS = [1, 2, 3, 5, 11, 14, 31, 5001, 5002, 5003]
DAY = {"start_date": "2024-03-29T00:00:00Z", "end_date": "2024-03-30T00:00:00Z"}


class Bench:
    """Holds the scale, the scratch directory and every raw result."""

    def __init__(self, scale: float, repeat: int, workdir: Path) -> None:
        self.scale = scale
        self.repeat = repeat
        self.workdir = workdir
        self.results: dict[str, Any] = {}
        # Children get a default stdout (block-buffered); see the PYTHONUNBUFFERED row.
        self.caller_unbuffered = os.environ.get("PYTHONUNBUFFERED")
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        self.env_unbuffered = {**self.env, "PYTHONUNBUFFERED": "1"}

    def config(self, name: str, payload: dict[str, Any]) -> str:
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(payload, indent=1))
        return str(path)

    def timed(self, label: str, argv: list[str], env: dict[str, str] | None = None) -> RunResult:
        result = run_timed(label, argv, self.workdir, env or self.env)
        print(
            f"  {label}: {result.wall_s:.2f}s wall, {result.cpu_s:.2f}s cpu, "
            f"{result.maxrss_mib:.0f} MiB, rows={result.rows}, exit={result.exit_code}",
            file=sys.stderr,
        )
        if result.exit_code != 0:
            msg = f"{label} failed (exit {result.exit_code}): {result.stderr_tail}"
            raise RuntimeError(msg)
        self.results[label] = result.as_dict()
        return result

    def alternated(self, contenders: dict[str, tuple[str, list[str]]]) -> dict[str, RunResult]:
        """``repeat`` rounds of every contender in turn (order reversed every other round).

        Each result is the run with the median wall time; its peak RSS is the highest
        seen, and ``spread`` is (slowest - fastest) / median wall time, the noise.
        """
        runs: dict[str, list[RunResult]] = {key: [] for key in contenders}
        order = list(contenders)
        for round_ in range(self.repeat):
            for key in order if round_ % 2 == 0 else order[::-1]:
                label, argv = contenders[key]
                runs[key].append(self.timed(f"{label}#{round_ + 1}", argv))
        medians = {}
        for key, results in runs.items():
            ranked = sorted(results, key=lambda r: r.wall_s)
            median = ranked[(len(ranked) - 1) // 2]
            median.maxrss_mib = max(r.maxrss_mib for r in results)
            median.spread = (ranked[-1].wall_s - ranked[0].wall_s) / median.wall_s
            medians[key] = median
        return medians

    def poll_settings(self) -> dict[str, Any]:
        """Defaults (5 s, cap 60 s) in full runs; scaled with the waits in --quick runs."""
        if self.scale == 1:
            return {}
        return {
            "poll_interval_seconds": 5 * self.scale,
            "poll_interval_max_seconds": 60 * self.scale,
        }


def throughput(bench: Bench, big: SandboxProc, small: SandboxProc) -> dict[str, Any]:
    rows_big = round(1_000_000 * bench.scale)
    cfg_big = bench.config("tap_1m", tap_config(big, **DAY, window_hours=24, contact_fields=FIELDS))
    cfg_small = bench.config(
        "tap_100k", tap_config(small, **DAY, window_hours=24, contact_fields=FIELDS)
    )
    cfg_floor = bench.config("framework_floor", {"rows": rows_big})
    tap = [TAP, "--config", cfg_big]
    floor = [PYTHON, helper("floor_csv.py"), "--config", cfg_big]
    defaults = [PYTHON, helper("sdk_defaults_tap.py"), "--config", cfg_big]
    framework = [PYTHON, helper("framework_floor.py"), "--config", cfg_floor]
    print("throughput and memory", file=sys.stderr)
    bench.timed("warm_up_renders_the_export_file", [*floor, "--raw"])
    # The tap asks for the same rows with other export parameters: a file of its own,
    # rendered on first request. Render it here, not inside the first timed run.
    bench.timed("warm_up_renders_the_taps_export_file", tap)
    out: dict[str, Any] = {
        "raw": bench.timed("sandbox_raw_download", [*floor, "--raw"]),
        **bench.alternated(
            {
                "a": ("a_tap_cli", tap),
                "b": ("b_floor_csv_msgspec", floor),
                "d": ("d_framework_floor", framework),
            }
        ),
        "c": bench.timed("c_sdk_defaults", defaults),
        "a_unbuffered": bench.timed("a_tap_PYTHONUNBUFFERED", tap, bench.env_unbuffered),
        "small": bench.timed("tap_100k", [TAP, "--config", cfg_small]),
    }
    parse = [PYTHON, helper("parse_only.py"), "--config", cfg_big, "--repeat", str(bench.repeat)]
    out["parse"] = procs.run_json(parse, bench.env)
    bench.results["parse_only"] = out["parse"]
    print(f"  parse_only: {out['parse']}", file=sys.stderr)
    out["ttfr_a"] = procs.first_record_seconds(tap, bench.env)
    out["ttfr_b"] = procs.first_record_seconds(floor, bench.env)
    bench.results["first_record_s"] = {"a": out["ttfr_a"], "b": out["ttfr_b"]}
    return out


def backfill_and_polling(bench: Bench, backfill: SandboxProc, slow: SandboxProc) -> dict[str, Any]:
    poll = bench.poll_settings()
    # One export per window: these rows measure exports in flight (rows 9a-9e merge them).
    base = tap_config(
        backfill, **DAY, window_hours=1, max_window_hours=1, contact_fields=FIELDS, **poll
    )
    cfg_c1 = bench.config("backfill_c1", {**base, "max_concurrent_exports": 1})
    cfg_default = bench.config("backfill_default", base)
    cfg_slow = bench.config(
        "polling", tap_config(slow, **DAY, window_hours=24, contact_fields=FIELDS, **poll)
    )
    print("backfill (and, overlapped, the slow-export polling run)", file=sys.stderr)
    polled: dict[str, RunResult] = {}
    poller = threading.Thread(
        target=lambda: polled.setdefault(
            "run", bench.timed("polling_60s_export", [TAP, "--config", cfg_slow])
        ),
    )
    poller.start()
    c1 = bench.timed("backfill_C1", [TAP, "--config", cfg_c1])
    poller.join()
    default = bench.timed("backfill_default_C4", [TAP, "--config", cfg_default])
    polls = slow.status_polls()
    bench.results["status_polls"] = polls
    return {"c1": c1, "default": default, "poll_run": polled["run"], "polls": polls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scale rows and waits down 10x")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternated runs of 1a, 1b, 1d (median kept)"
    )
    parser.add_argument(
        "--snapshot",
        metavar="REV",
        help="benchmark tap and sandbox from `git archive REV` (a stable copy while the "
        "working tree is being edited) instead of the working tree",
    )
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    started = time.perf_counter()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
        if args.snapshot:
            procs.use_snapshot(args.snapshot, Path(tmp) / "src")
        source = procs.source_state()
        bench = Bench(scale, max(1, args.repeat), Path(tmp))
        sandboxes = [
            procs.start_sandbox(
                per_day=round(1_000_000 * scale), export_delay=0, file_cache=tmp + "/big"
            ),
            procs.start_sandbox(
                per_day=round(100_000 * scale), export_delay=0, file_cache=tmp + "/small"
            ),
            procs.start_sandbox(per_day=2400, export_delay=5 * scale),
            procs.start_sandbox(per_day=2400, export_delay=60 * scale),
        ]
        try:
            tp = throughput(bench, sandboxes[0], sandboxes[1])
            bf = backfill_and_polling(bench, sandboxes[2], sandboxes[3])
        finally:
            for sandbox in sandboxes:
                sandbox.stop()
        rows = build_rows(tp, bf, scale=scale, repeat=bench.repeat, fields=len(FIELDS))
        fixed, adapted = adaptive.measure(Path(tmp), quick=args.quick)
        rows += adaptive.rows(fixed, adapted, scale)
        changed = procs.source_state()["sources_sha256"] != source["sources_sha256"]
    elapsed = time.perf_counter() - started
    info = procs.machine_info()
    unbuffered = "removed for children" if bench.caller_unbuffered else "unset"
    machine = (
        f"Machine: nproc={info['nproc']}, CPU={info['cpu']}, Python {info['python']}, "
        f"singer-sdk {info['singer_sdk']}, msgspec {info['msgspec']}; load avg at start "
        f"{load[0]:.2f}/{load[1]:.2f}; PYTHONUNBUFFERED {unbuffered}"
    )
    mode = "QUICK (rows and waits /10)" if args.quick else "full"
    print()
    print(f"### tap-emarsys-registrations benchmark ({mode}); ratios are wall-time ratios")
    print()
    print(render(rows))
    print()
    print(machine)
    print(
        f"Source ({source['tree']}): git {source['head']} + {source['dirty_files']} "
        "uncommitted file(s) in "
        f"tap_emarsys_registrations/ and sandbox/, sources sha256 {source['sources_sha256']}"
        + (
            "; WARNING: the sources CHANGED during the run"
            if changed
            else "; unchanged during the run"
        )
    )
    print(f"Total benchmark runtime: {elapsed:.0f} s")
    if args.json:
        payload = {
            "mode": mode,
            "machine": info,
            "load_avg_start": load,
            "source": {**source, "changed_during_run": changed},
            "runtime_s": elapsed,
            "rows": [row.as_dict() for row in rows],
            "runs": bench.results,
        }
        procs.write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())

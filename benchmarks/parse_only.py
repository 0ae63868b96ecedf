"""Row (5): the per-row cost of parsing and casting on its own, in one process.

Downloads one export's body (the same export the tap reads) to a scratch file,
then times, alternated and ``--repeat`` times each, over that file's bytes in
1 MiB chunks (no network):

- ``reader``: the tap's ``csv`` reader alone (UTF-8 decoding and CSV splitting);
- ``records``: the tap's ``data_rows`` with its compiled row function, i.e.
  reading, casting and building each record, with no SDK and no output.

Prints one JSON line: rows and the median CPU microseconds per row of each.

    python benchmarks/parse_only.py --config cfg.json --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floor_csv import VIENNA, Export

from tap_emarsys_registrations.delivery.body import Body, ReadMemory, data_rows
from tap_emarsys_registrations.fields import parse_catalog
from tap_emarsys_registrations.records.csv_records import (
    ChunkReader,
    Layout,
    RecordBuilder,
    csv_reader,
)
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import Window

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CHUNK = 1 << 20


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


def reader_only(path: Path, layout: Layout, window: Window) -> int:
    del layout, window
    rows = 0
    for _ in csv_reader(ChunkReader(chunks(path)), ";"):
        rows += 1
    return rows - 1  # the header


def records(path: Path, layout: Layout, window: Window) -> int:
    builder = RecordBuilder(layout, window, LocalTimestampConverter(VIENNA), "export")
    body = Body(chunks(path), path.stat().st_size, lambda: None)
    check = builder.check_header if layout.header else None
    rows = data_rows(body, delimiter=";", memory=ReadMemory(), check_header=check)
    build = builder.build
    return sum(1 for number, row in rows if build(row, number) is not None)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    export = Export(json.loads(Path(args.config).read_text()))
    fields = {f.id: f for f in parse_catalog(export.catalog)}
    wanted = tuple(fields[int(entry["id"])] for entry in export.catalog)
    layout = Layout(wanted, True, True, tuple(f.name for f in wanted))  # noqa: FBT003
    window = Window(export.start, export.end)
    with tempfile.TemporaryDirectory(prefix="parse-only-") as tmp:
        path = Path(tmp) / "body.csv"
        with path.open("wb") as sink:
            for chunk in export.response.iter_content(CHUNK):
                sink.write(chunk)
        timings: dict[str, list[float]] = {"reader": [], "records": []}
        counts: dict[str, int] = {}
        contenders: list[tuple[str, Callable[[Path, Layout, Window], int]]] = [
            ("reader", reader_only),
            ("records", records),
        ]
        for round_ in range(max(1, args.repeat)):
            for name, run in contenders if round_ % 2 == 0 else contenders[::-1]:
                started = time.process_time()
                counts[name] = run(path, layout, window)
                timings[name].append(time.process_time() - started)
    rows = counts["reader"]
    result: dict[str, Any] = {
        "rows": rows,
        "records": counts["records"],
        "repeat": max(1, args.repeat),
        **{f"{k}_us": statistics.median(v) / rows * 1e6 for k, v in timings.items()},
        **{f"{k}_spread": (max(v) - min(v)) / statistics.median(v) for k, v in timings.items()},
    }
    print(json.dumps(result))
    print(f"rows={rows}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

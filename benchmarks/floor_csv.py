"""Floor program (b): the same export done by hand with requests + csv + msgspec.

Reads the tap's config file, starts ONE export for [start_date, end_date), waits
until it is done, streams the CSV and writes Singer RECORD lines with the same
keys and value types as the tap (ints, UTC ISO strings, Decimals as JSON numbers,
nulls for empty cells). ``--raw`` only downloads the body (the sandbox's ceiling).

    python benchmarks/floor_csv.py --config cfg.json [--raw] > /dev/null
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from zoneinfo import ZoneInfo

import msgspec
import requests

if TYPE_CHECKING:
    from collections.abc import Iterator

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
ONE_SECOND = dt.timedelta(seconds=1)
FLUSH_BYTES = 1 << 16


def local(moment: dt.datetime) -> str:
    return moment.astimezone(VIENNA).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def to_utc(raw: str) -> str:
    naive = dt.datetime.fromisoformat(raw)
    return naive.replace(tzinfo=VIENNA, fold=0).astimezone(UTC).isoformat(timespec="seconds")


class Export:
    """One export of [start_date, end_date) started and finished through the API."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        api = cfg["api_url"].rstrip("/") + "/v3/"
        session = requests.Session()
        token = session.post(
            cfg["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(cfg["client_id"], cfg["client_secret"]),
            timeout=60,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        catalog = session.get(api + "field/translate/en", timeout=60).json()["data"]
        by_id = {int(f["id"]): f for f in catalog}
        wanted = [by_id[int(i)] for i in cfg["contact_fields"]]
        self.catalog = wanted
        self.names = [f["string_id"] or f"field_{f['id']}" for f in wanted]
        self.numeric = [i for i, f in enumerate(wanted) if f["application_type"] == "numeric"]
        self.start = dt.datetime.fromisoformat(cfg["start_date"]).astimezone(UTC)
        self.end = dt.datetime.fromisoformat(cfg["end_date"]).astimezone(UTC)
        body = {
            "distribution_method": "local",
            "time_range": [local(self.start - ONE_SECOND), local(self.end + ONE_SECOND)],
            "contact_fields": [int(f["id"]) for f in wanted],
            "delimiter": ";",
            "add_field_names_header": 1,
            "with_timestamp": 1,
            "language": "en",
        }
        reply = session.post(api + "contact/getregistrations", json=body, timeout=60).json()
        export_id = reply["data"]["id"]
        status_url = api + f"export/{export_id}"
        while session.get(status_url, timeout=60).json()["data"]["status"] != "done":
            time.sleep(0.05)
        self.response = session.get(status_url + "/data", stream=True, timeout=300)
        self.response.raise_for_status()

    def rows(self) -> Iterator[list[str]]:
        self.response.raw.decode_content = True
        self.response.raw.auto_close = False  # io wrappers read to EOF themselves
        text = io.TextIOWrapper(self.response.raw, encoding="utf-8-sig", newline="")
        rows = csv.reader(text, delimiter=";", strict=True)
        next(rows)  # header
        return rows


def emit(export: Export, out: BinaryIO) -> int:
    """Write one RECORD line per row inside the window, then a STATE; return the count."""
    low, high = iso_utc(export.start), iso_utc(export.end)
    names, numeric = export.names, export.numeric
    encoder = msgspec.json.Encoder(decimal_format="number")
    buffer = bytearray()
    converted: dict[str, str] = {}
    now = dt.datetime.now
    count = 0
    for row in export.rows():
        raw_ts = row[-1]
        registered_at = converted.get(raw_ts)
        if registered_at is None:
            registered_at = converted[raw_ts] = to_utc(raw_ts)
        if not low <= registered_at < high:
            continue
        values: list[Any] = [v or None for v in row[1:-1]]
        for index in numeric:
            if values[index] is not None:
                values[index] = Decimal(values[index])
        record = {"user_id": int(row[0]), "registered_at": registered_at, "window_start": low}
        record.update(zip(names, values, strict=True))
        message = {
            "type": "RECORD",
            "stream": "registrations",
            "record": record,
            "time_extracted": now(UTC),
        }
        encoder.encode_into(message, buffer, -1)
        buffer.extend(b"\n")
        count += 1
        if len(buffer) >= FLUSH_BYTES:
            out.write(buffer)
            buffer.clear()
    state = {"bookmarks": {"registrations": {"replication_key_value": high}}}
    encoder.encode_into({"type": "STATE", "value": state}, buffer, -1)
    buffer.extend(b"\n")
    out.write(buffer)
    out.flush()
    return count


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--raw", action="store_true", help="download only, emit nothing")
    args = parser.parse_args()
    export = Export(msgspec.json.decode(Path(args.config).read_bytes()))
    if args.raw:
        size = sum(len(chunk) for chunk in export.response.iter_content(FLUSH_BYTES))
        print(f"bytes={size}", file=sys.stderr)
        return 0
    count = emit(export, sys.stdout.buffer)
    print(f"rows={count}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

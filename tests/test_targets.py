"""Target compatibility matrix: the tap's CLI piped into real Singer targets.

Each target runs from its own cached venv (tests/targets.py). For each target and
each ``with_timestamp`` mode, one fresh sandbox and one environment (shared by all
tap runs of the test) go through:

1. an initial load, which must equal the sandbox truth, values and stored types too;
2. an incremental run from the STATE the target emitted, adding only the new window;
3. a run killed mid-window, then a rerun from the last STATE the target emitted:
   the upserting targets end with the truth and no duplicate key, the append-only
   ones with the truth plus exactly the re-delivered rows of that window.

What a target cannot keep is asserted exactly as documented in README "Loading into
targets" (``Loader.stored``), never silently accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import pytest

from sandbox import Sandbox, SandboxConfig
from sandbox.fields import fields_by_id
from tests import targets
from tests.conftest import UTC, tap_config
from tests.postgres import Postgres

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# a tap and a target process, waited up to 120 s and 300 s
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

START = dt.datetime(2024, 3, 29, tzinfo=UTC)
DAY = dt.timedelta(days=1)
# Text with newlines (CRLF too), quotes, commas and semicolons (first_name, last_name,
# address, company_name, field_5003), 21-digit numbers (loyalty_points) and dates.
FIELD_IDS = (1, 2, 3, 4, 10, 18, 5001, 5002, 5003)
KILL_AFTER = 5  # records of the last window that reach the target before the kill
READER = Path(__file__).with_name("target_reader.py")
Row = dict[str, Any]


def _properties() -> dict[int, tuple[str, str]]:
    """Field id -> (property name, number/date/string), as the tap names and types them."""
    kinds = {"numeric": "number", "date": "date", "birthdate": "date"}
    out = {}
    for fid in FIELD_IDS:
        field = fields_by_id()[fid]
        out[fid] = (field.string_id or f"field_{fid}", kinds.get(field.application_type, "string"))
    return out


PROPERTIES = _properties()
KINDS = dict(PROPERTIES.values())
TIMESTAMPS = ("registered_at", "window_start")


def truth(sb: Sandbox, end: dt.datetime, *, with_timestamp: bool) -> list[Row]:
    """The sandbox's registrations in [START, end), as typed rows."""
    rows = []
    for reg in sb.truth(START, end):
        at = reg.registered_at.astimezone(UTC)
        row: Row = {
            "user_id": reg.user_id,
            "registered_at": at if with_timestamp else None,
            "window_start": START + DAY * ((at - START) // DAY),
        }
        for fid, (name, _) in PROPERTIES.items():
            row[name] = reg.values[fid]
        rows.append(row)
    return rows


def parse_text(row: dict[str, Any]) -> Row:
    """A row of JSON or CSV text values, typed by the tap's schema ('' and None are null)."""
    typed: Row = {"user_id": int(row["user_id"])}
    for name in TIMESTAMPS:
        value = row[name]
        typed[name] = dt.datetime.fromisoformat(value) if value not in {None, ""} else None
    for name, kind in KINDS.items():
        value = row[name]
        if value in {None, ""}:
            typed[name] = None
        elif kind == "number":
            typed[name] = Decimal(str(value))
        elif kind == "date":
            typed[name] = dt.date.fromisoformat(value)
        else:
            typed[name] = value
    return typed


DECODERS: dict[str, Callable[[str], Any]] = {
    "decimal": Decimal,
    "float": float,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
}


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((kind, text),) = value.items()
    return DECODERS[kind](text)


def _canonical(rows: list[Row]) -> list[str]:
    return sorted(json.dumps(row, default=repr, sort_keys=True) for row in rows)


class Loader:
    """One target: its config, how to read what it stored, and what it is known to change."""

    target: ClassVar[targets.Target]
    upserts: ClassVar[bool]
    # Column -> stored type, for the targets that have types.
    column_types: ClassVar[dict[str, str]] = {}

    def __init__(self, root: Path, schema: str) -> None:
        self.root, self.schema = root, schema
        self.runs = 0

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def types_and_rows(self) -> tuple[dict[str, str], list[Row]]:
        raise NotImplementedError

    def stored(self, row: Row) -> Row:
        """The truth row as this target is documented to store it (identity: exact)."""
        return row

    def rows(self) -> list[Row]:
        types, rows = self.types_and_rows()
        if self.column_types:
            assert types == self.column_types
        return rows


class SQLLoader(Loader):
    kind: ClassVar[str]

    def where(self) -> str:
        raise NotImplementedError

    def types_and_rows(self) -> tuple[dict[str, str], list[Row]]:
        result = subprocess.run(
            [str(self.target.python), str(READER), self.kind, self.where(), self.schema],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        lines = result.stdout.splitlines()
        types = {k: v for k, v in json.loads(lines[0]).items() if not k.startswith("_sdc_")}
        rows = []
        for line in lines[1:]:
            raw = json.loads(line)
            rows.append({k: _decode(v) for k, v in raw.items() if not k.startswith("_sdc_")})
        return types, rows


def _naive_utc(row: Row) -> Row:
    """Timestamps as naive UTC wall time (a TIMESTAMP column without time zone)."""
    out = dict(row)
    for name in TIMESTAMPS:
        if out[name] is not None:
            out[name] = out[name].astimezone(UTC).replace(tzinfo=None)
    return out


class DuckDB(SQLLoader):
    target = targets.DUCKDB
    upserts = True
    kind = "duckdb"
    column_types: ClassVar[dict[str, str]] = {
        "user_id": "HUGEINT",
        "registered_at": "TIMESTAMP",
        "window_start": "TIMESTAMP",
        **{name: {"number": "DOUBLE"}.get(kind, "VARCHAR") for name, kind in KINDS.items()},
    }

    def where(self) -> str:
        return str(self.root / "registrations.duckdb")

    def config(self) -> dict[str, Any]:
        return {"filepath": self.where(), "default_target_schema": self.schema}

    def stored(self, row: Row) -> Row:
        """Known: numbers are DOUBLE (rounded), dates VARCHAR, timestamps naive UTC."""
        out = _naive_utc(row)
        for name, kind in KINDS.items():
            if out[name] is not None and kind == "number":
                out[name] = float(out[name])
            elif out[name] is not None and kind == "date":
                out[name] = out[name].isoformat()
        return out


class PostgreSQL(SQLLoader):
    target = targets.POSTGRES
    upserts = True
    kind = "postgres"
    column_types: ClassVar[dict[str, str]] = {
        "user_id": "bigint",
        "registered_at": "timestamp without time zone",
        "window_start": "timestamp without time zone",
        **{name: {"number": "numeric"}.get(kind, kind) for name, kind in KINDS.items()},
    }
    column_types |= {name: "text" for name, kind in KINDS.items() if kind == "string"}
    port = 0

    def where(self) -> str:
        return str(self.port)

    def config(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": "postgres",
            "password": "unused",
            "database": "postgres",
            "default_target_schema": self.schema,
        }

    def stored(self, row: Row) -> Row:
        """Known: date-time columns are timestamp without time zone, holding UTC."""
        return _naive_utc(row)


class CSVFiles(Loader):
    """meltanolabs-target-csv rewrites its file on every run, so each run gets a folder."""

    target = targets.CSV
    upserts = False

    def config(self) -> dict[str, Any]:
        self.runs += 1
        return {"output_path": str(self.root / f"run{self.runs}")}

    def types_and_rows(self) -> tuple[dict[str, str], list[Row]]:
        rows: list[Row] = []
        for path in sorted(self.root.glob("run*/registrations.csv")):
            with path.open(newline="", encoding="utf-8") as handle:
                rows.extend(parse_text(row) for row in csv.DictReader(handle))
        return {}, rows


class JSONLines(Loader):
    target = targets.JSONL
    upserts = False

    def config(self) -> dict[str, Any]:
        return {"destination_path": str(self.root), "do_timestamp_file": False}

    def types_and_rows(self) -> tuple[dict[str, str], list[Row]]:
        path = self.root / "registrations.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        return {}, [parse_text(json.loads(line, parse_float=Decimal)) for line in lines]


LOADERS = [DuckDB, PostgreSQL, CSVFiles, JSONLines]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pg = Postgres.start()
    try:
        yield pg
    finally:
        pg.stop()


class Pipeline:
    """Tap CLI -> target CLI for one test: one sandbox, one environment, one target."""

    def __init__(self, sb: Sandbox, loader: Loader, tmp: Path, *, with_timestamp: bool) -> None:
        self.sb, self.loader, self.tmp = sb, loader, tmp
        self.with_timestamp = with_timestamp
        self.target = loader.target.ensure()
        # Every tap run of the test shares this environment (and so any cache under it).
        self.env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache")}
        self.runs = 0

    def run(
        self, end: dt.datetime, state: dict[str, Any] | None, *, kill_in: dt.datetime | None = None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """One tap run into the target; returns the target's last STATE and the records sent.

        A target may emit no STATE for a cut run (target-jsonl drops a STATE that
        records follow); the orchestrator then keeps the previous one.

        With ``kill_in``, the tap is killed once KILL_AFTER records of the window
        starting there have been passed on; the target then sees the end of its input.
        """
        self.runs += 1
        run_dir = self.tmp / f"run{self.runs}"
        run_dir.mkdir()
        config = tap_config(
            self.sb,
            contact_fields=list(FIELD_IDS),
            with_timestamp=self.with_timestamp,
            end_date=end.isoformat(),
        )
        (run_dir / "tap.json").write_text(json.dumps(config))
        (run_dir / "target.json").write_text(json.dumps(self.loader.config()))
        tap_args = [sys.executable, "-m", "tap_emarsys_registrations"]
        tap_args += ["--config", str(run_dir / "tap.json")]
        if state is not None:
            (run_dir / "state.json").write_text(json.dumps(state))
            tap_args += ["--state", str(run_dir / "state.json")]
        with (
            (run_dir / "tap.err").open("wb") as tap_err,
            (run_dir / "target.err").open("wb") as target_err,
        ):
            target = subprocess.Popen(
                [str(self.target), "--config", str(run_dir / "target.json")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=target_err,
                cwd=run_dir,
                env=self.env,
            )
            tap = subprocess.Popen(tap_args, stdout=subprocess.PIPE, stderr=tap_err, env=self.env)
            sent, killed = self._relay(tap, target, kill_in, run_dir / "tap.out")
            tap_code = tap.wait(timeout=120)
            assert target.stdout is not None
            out = target.stdout.read()
            target.stdout.close()
            target.wait(timeout=300)
        assert killed or tap_code == 0, (run_dir / "tap.err").read_text()
        assert target.returncode == 0, (run_dir / "target.err").read_text()[-3000:]
        states = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        assert states or killed, "a finished run makes the target emit a STATE"
        return (states[-1] if states else None), sent

    @staticmethod
    def _relay(
        tap: subprocess.Popen[bytes],
        target: subprocess.Popen[bytes],
        kill_in: dt.datetime | None,
        copy: Path,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Pass the tap's lines to the target (and to ``copy``); kill the tap per ``kill_in``."""
        assert tap.stdout is not None
        assert target.stdin is not None
        sent: list[dict[str, Any]] = []
        with copy.open("wb") as log:
            killed = Pipeline._pass_on(tap, target.stdin, log, kill_in, sent)
        target.stdin.close()
        tap.stdout.close()
        return sent, killed

    @staticmethod
    def _pass_on(
        tap: subprocess.Popen[bytes],
        sink: IO[bytes],
        log: IO[bytes],
        kill_in: dt.datetime | None,
        sent: list[dict[str, Any]],
    ) -> bool:
        assert tap.stdout is not None
        in_window = 0
        for line in tap.stdout:
            sink.write(line)
            log.write(line)
            message = json.loads(line, parse_float=Decimal)
            if message["type"] != "RECORD":
                continue
            sent.append(message["record"])
            if kill_in is not None and message["record"]["window_start"] == kill_in.isoformat():
                in_window += 1
                if in_window == KILL_AFTER:
                    tap.kill()
                    return True
        return False

    def posted_windows(self) -> list[str]:
        return [
            str(e.json_body["time_range"][0])  # type: ignore[index]
            for e in self.sb.requests
            if e.method == "POST" and e.path.endswith("contact/getregistrations")
        ]


def _bookmark(state: dict[str, Any] | None) -> str:
    assert state is not None
    return str(state["bookmarks"]["registrations"]["replication_key_value"])


def _key(row: Row, *, with_timestamp: bool) -> tuple[Any, ...]:
    return (row["user_id"], row["registered_at" if with_timestamp else "window_start"])


def _upserted(rows: list[Row], *, with_timestamp: bool) -> list[Row]:
    """One row per key, as an upsert keeps it (re-registrations in a window are equal)."""
    by_key: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        key = _key(row, with_timestamp=with_timestamp)
        assert by_key.setdefault(key, row) == row, "rows sharing a key carry the same values"
    return list(by_key.values())


@pytest.mark.parametrize("with_timestamp", [True, False], ids=["with-timestamp", "no-timestamp"])
@pytest.mark.parametrize("loader_class", LOADERS, ids=lambda c: c.target.name)
def test_target_loads_the_truth_incrementally_and_after_a_kill(
    loader_class: type[Loader],
    with_timestamp: bool,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    schema = f"emarsys_{'ts' if with_timestamp else 'nots'}"
    loader = loader_class(tmp_path / "target", schema)
    loader.root.mkdir()
    if isinstance(loader, PostgreSQL):
        loader.port = request.getfixturevalue("postgres").port
    mode = {"with_timestamp": with_timestamp}

    def expected(end: dt.datetime, extra: tuple[Row, ...] = ()) -> list[str]:
        rows = truth(sb, end, **mode)
        if loader.upserts:
            rows = _upserted(rows, **mode)
        return _canonical([loader.stored(row) for row in [*rows, *extra]])

    with Sandbox(SandboxConfig(start=START, days=4, per_day=20)) as sb:
        pipeline = Pipeline(sb, loader, tmp_path, **mode)

        # 1. Initial load: two windows, equal to the truth in every value.
        state, _ = pipeline.run(START + 2 * DAY, None)
        assert _bookmark(state) == (START + 2 * DAY).isoformat()
        assert _canonical(loader.rows()) == expected(START + 2 * DAY)

        # 2. Incremental: only the third window is exported and added.
        sb.clear_requests()
        state, sent = pipeline.run(START + 3 * DAY, state)
        assert len(pipeline.posted_windows()) == 1
        assert {r["window_start"] for r in sent} == {(START + 2 * DAY).isoformat()}
        assert _canonical(loader.rows()) == expected(START + 3 * DAY)

        # 3. Killed after KILL_AFTER records of the fourth window, then rerun from the
        #    last STATE the target emitted: the window is delivered again.
        last = START + 3 * DAY
        cut_state, partial = pipeline.run(START + 4 * DAY, state, kill_in=last)
        state = cut_state or state
        assert len(partial) == KILL_AFTER
        assert _bookmark(state) == last.isoformat(), "the STATE points at the cut window"
        repeated = [parse_text(record) for record in partial]
        full = truth(sb, START + 4 * DAY, **mode)
        assert all(row in full and row["window_start"] == last for row in repeated)
        state, sent = pipeline.run(START + 4 * DAY, state)
        assert _bookmark(state) == (START + 4 * DAY).isoformat()
        assert {r["window_start"] for r in sent} == {last.isoformat()}
        assert len(sent) == sum(1 for row in full if row["window_start"] == last)
        rows = loader.rows()
        if loader.upserts:
            assert _canonical(rows) == expected(START + 4 * DAY)
            keys = Counter(_key(row, **mode) for row in rows)
            assert max(keys.values()) == 1, "no duplicate keys"
        else:
            assert _canonical(rows) == expected(START + 4 * DAY, tuple(repeated))

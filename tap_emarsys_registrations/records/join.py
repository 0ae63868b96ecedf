"""Join the parts of a window exported in several exports (more than 20 fields).

Emarsys takes at most 20 fields per export, so wider selections are split
across exports of the same window. Each row is keyed by ``user_id`` plus the
registration timestamp (or, without timestamps, by how often that user_id has
appeared so far). Parts that come back in the same order are merged as
streams; at the first disagreement the rest of the other parts is spooled to
an on-disk SQLite table and looked up by key, so memory stays bounded. A row
that one part has and another lacks is emitted with the missing fields null
and reported, never dropped.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from tap_emarsys_registrations.records.csv_records import RecordBuilder

LOGGER: Final = logging.getLogger(__name__)
Row = tuple[int, list[str]]
Key = tuple[str, str]


class _Keyer:
    """Join keys for one part's rows."""

    def __init__(self, *, with_timestamp: bool) -> None:
        self._with_timestamp = with_timestamp
        self._seen: Counter[str] = Counter()

    def __call__(self, row: list[str]) -> Key:
        if self._with_timestamp and row[-1] != "":
            return row[0], row[-1]
        self._seen[row[0]] += 1
        return row[0], f"#{self._seen[row[0]]}"


class _Spool:
    """The unmatched rows of the other parts, on disk, looked up by key."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="emarsys-join-")
        self._db = sqlite3.connect(Path(self._dir.name) / "join.sqlite")
        self._db.execute(
            "create table rows (part int, uid text, ts text, number int, cells text)",
        )
        self._db.execute("create index by_key on rows (part, uid, ts)")

    def add(self, part: int, key: Key, row: Row) -> None:
        self._db.execute(
            "insert into rows values (?, ?, ?, ?, ?)",
            (part, key[0], key[1], row[0], json.dumps(row[1])),
        )

    def take(self, part: int, key: Key) -> Row | None:
        found = self._db.execute(
            "select rowid, number, cells from rows where part = ? and uid = ? and ts = ? "
            "order by rowid limit 1",
            (part, *key),
        ).fetchone()
        if found is None:
            return None
        self._db.execute("delete from rows where rowid = ?", (found[0],))
        return int(found[1]), list(json.loads(found[2]))

    def leftovers(self) -> Iterator[tuple[int, Row]]:
        cursor = self._db.execute("select part, number, cells from rows order by part, rowid")
        for part, number, cells in cursor:
            yield int(part), (int(number), list(json.loads(cells)))

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


class PartJoin:
    """Merges the row streams of a window's export parts into records."""

    def __init__(self, builders: list[RecordBuilder], *, with_timestamp: bool) -> None:
        self._builders = builders
        self._with_timestamp = with_timestamp
        self.unmatched = 0

    def _record(self, rows: list[Row | None]) -> dict[str, Any] | None:
        """One record from the parts' rows for one key (None where a part lacks it)."""
        present = [(part, row) for part, row in enumerate(rows) if row is not None]
        first_part, (number, cells) = present[0]
        record = self._builders[first_part].build(cells, number)
        if record is None:
            return None
        for part, row in enumerate(rows):
            if part == first_part:
                continue
            if row is None:
                record.update(self._builders[part].nulls())
            else:
                self._builders[part].add_values(record, row[1], row[0])
        if len(present) < len(rows):
            self.unmatched += 1
        return record

    def records(self, streams: Sequence[Iterator[Row]]) -> Iterator[dict[str, Any]]:
        """Yield merged records, in the first part's order, then rows only later parts have."""
        keyers = [_Keyer(with_timestamp=self._with_timestamp) for _ in streams]
        while True:
            rows = [next(stream, None) for stream in streams]
            if all(row is None for row in rows):
                return
            keys = [None if row is None else keyers[i](row[1]) for i, row in enumerate(rows)]
            if None not in keys and len(set(keys)) == 1:
                record = self._record(list(rows))
                if record is not None:
                    yield record
                continue
            LOGGER.info("Export parts disagree on row order; joining the rest on disk")
            yield from self._spooled(streams, keyers, rows, keys)
            return

    def _spooled(
        self,
        streams: Sequence[Iterator[Row]],
        keyers: list[_Keyer],
        pending: list[Row | None],
        keys: list[Key | None],
    ) -> Iterator[dict[str, Any]]:
        spool = _Spool()
        try:
            for part in range(1, len(streams)):
                row, key = pending[part], keys[part]
                if row is not None and key is not None:
                    spool.add(part, key, row)
                for later in streams[part]:
                    spool.add(part, keyers[part](later[1]), later)
            first: list[Row] = [pending[0]] if pending[0] is not None else []
            head_key = keys[0]
            for index, row in enumerate(itertools.chain(first, streams[0])):
                key = head_key if index == 0 and first else keyers[0](row[1])
                assert key is not None  # keys exist for every row read
                others = [spool.take(part, key) for part in range(1, len(streams))]
                record = self._record([row, *others])
                if record is not None:
                    yield record
            for part, row in spool.leftovers():
                rows: list[Row | None] = [None] * len(streams)
                rows[part] = row
                record = self._record(rows)
                if record is not None:
                    yield record
        finally:
            spool.close()

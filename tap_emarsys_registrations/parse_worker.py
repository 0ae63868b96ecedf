"""Parse big export files in a helper process, so parsing overlaps the SDK's work.

Per record, the SDK's own work (selection, state, message encoding) costs
about as much as reading, parsing and casting a CSV row. Both are CPU-bound
and the interpreter runs one thread at a time, so for large files the tap
moves the second half into one helper process, started on first use and kept
for the run: the main process downloads and forwards the body's bytes (a
feeder thread), the helper runs the same ``data_rows`` parser and sends back
batches of finished records (msgpack), and the main process hands them to
the SDK. Errors travel back as their own type and message; the helper exits
when its input closes, so it never outlives the tap.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import marshal
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import msgspec

from tap_emarsys_registrations.csv_records import Layout, RecordBuilder
from tap_emarsys_registrations.download import Body, Cursor, data_rows
from tap_emarsys_registrations.errors import CSVFormatError, TruncatedDownloadError
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import Window

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_emarsys_registrations.download import Done

LOGGER: Final = logging.getLogger(__name__)
# Bodies at least this long go to the helper; smaller ones are not worth a process.
MIN_BYTES: Final = 8 * 1024 * 1024
BATCH_RECORDS: Final = 256
PIPE_BYTES: Final = 1 << 20
FLOAT_DIGITS: Final = 15  # every decimal of up to 15 significant digits survives a float
_HEAD: Final = struct.Struct(">cI")
_ERRORS: Final = {"csv": CSVFormatError, "truncated": TruncatedDownloadError}


_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder()


def _portable(value: Decimal) -> tuple[float | str, bool]:
    """A float when it holds ``value`` exactly (at most 15 digits), else its text."""
    if len(value.as_tuple().digits) <= FLOAT_DIGITS:
        return float(value), True
    return str(value), False


def _write(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    out.write(_HEAD.pack(kind, len(payload)))
    out.write(payload)


def _read(source: IO[bytes]) -> tuple[bytes, bytes]:
    head = source.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise EOFError
    kind, size = _HEAD.unpack(head)
    payload = source.read(size)
    if len(payload) < size:
        raise EOFError
    return kind, payload


@dataclass
class _Counter:
    rows_done: int


def _job(spec: dict[str, Any]) -> tuple[Layout, RecordBuilder, Cursor, _Counter, str]:
    fields = tuple(Field(*entry) for entry in spec["fields"])
    layout = Layout(fields, spec["with_timestamp"], spec["header"], tuple(spec["header_names"]))
    window = Window(
        dt.datetime.fromisoformat(spec["start"]), dt.datetime.fromisoformat(spec["end"])
    )
    converter = LocalTimestampConverter(ZoneInfo(spec["zone"]))
    builder = RecordBuilder(layout, window, converter, spec["describe"])
    cursor = Cursor(0, spec["empty_bodies"], spec["unterminated_size"])
    return layout, builder, cursor, _Counter(spec["skip"]), spec["delimiter"]


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """The helper's loop: one job (spec, body chunks, end) after another until EOF."""
    while True:
        try:
            kind, payload = _read(source)
        except EOFError:
            return
        if kind != b"J":
            continue
        spec = msgspec.msgpack.decode(payload)
        layout, builder, cursor, counter, delimiter = _job(spec)
        numbers = [f.property_name for f in layout.fields if f.kind == "number"]
        ended = False

        def chunks() -> Iterator[bytes]:
            nonlocal ended
            while True:
                part_kind, part = _read(source)
                if part_kind == b"E":
                    ended = True
                    return
                yield part

        body = Body(chunks(), spec["expected_length"], lambda: None)
        batch: list[Any] = []
        wide: list[tuple[int, str]] = []
        try:
            for record in data_rows(
                body,
                layout=layout,
                delimiter=delimiter,
                builder=builder,
                cursor=cursor,
                done=counter,
            ):
                for name in numbers:
                    value = record[name]
                    if value is not None:
                        record[name], exact = _portable(value)
                        if not exact:
                            wide.append((len(batch), name))
                batch.append(record)
                if len(batch) >= BATCH_RECORDS:
                    _write(out, b"B", marshal.dumps((counter.rows_done, batch, wide)))
                    batch, wide = [], []
            _write(out, b"B", marshal.dumps((counter.rows_done, batch, wide)))
            state = [cursor.empty_bodies, cursor.unterminated_size]
            _write(out, b"F", _ENCODER.encode(state))
        except (CSVFormatError, TruncatedDownloadError) as exc:
            name = "csv" if isinstance(exc, CSVFormatError) else "truncated"
            state = [cursor.empty_bodies, cursor.unterminated_size]
            _write(out, b"B", marshal.dumps((counter.rows_done, batch, wide)))
            _write(out, b"X", _ENCODER.encode([name, str(exc), state]))
        out.flush()
        while not ended:  # read the rest of this body so the next job starts in step
            ended = _read(source)[0] == b"E"


class ParseWorker:
    """The main process's side: one helper process, reused for each big body."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tap_emarsys_registrations.parse_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for pipe in (self._process.stdin, self._process.stdout):
                _widen(pipe)
            LOGGER.info("Parsing export files in a helper process (pid %d)", self._process.pid)
        return self._process

    def close(self) -> None:
        """Stop the helper (its input closes, it exits)."""
        process, self._process = self._process, None
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            process.kill()
            process.wait()

    def records(
        self,
        body: Body,
        *,
        layout: Layout,
        window: Window,
        zone: ZoneInfo,
        delimiter: str,
        describe: str,
        cursor: Cursor,
        done: Done,
        on_batch: Callable[[int], None],
    ) -> Iterator[dict[str, Any]]:
        """Yield the body's records as ``data_rows`` would, parsed by the helper.

        ``on_batch`` is told how many records each batch handed on.
        """
        process = self._start()
        assert process.stdin is not None
        assert process.stdout is not None
        spec = {
            "fields": [
                [f.id, f.name, f.application_type, f.string_id, f.property_name]
                for f in layout.fields
            ],
            "with_timestamp": layout.with_timestamp,
            "header": layout.header,
            "header_names": list(layout.header_names),
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "zone": zone.key,
            "describe": describe,
            "delimiter": delimiter,
            "expected_length": body.expected_length,
            "empty_bodies": cursor.empty_bodies,
            "unterminated_size": cursor.unterminated_size,
            "skip": done.rows_done,
        }
        stop = threading.Event()
        failure: list[BaseException] = []
        feeder = threading.Thread(
            target=_feed,
            args=(body, process.stdin, _ENCODER.encode(spec), stop, failure),
            name="parse-feeder",
            daemon=True,
        )
        feeder.start()
        finished = False
        try:
            while True:
                try:
                    kind, payload = _read(process.stdout)
                except EOFError:
                    msg = "the parsing helper process stopped"
                    raise TruncatedDownloadError(msg) from None
                if kind == b"B":
                    # marshal: the fastest loader for plain dicts, between two processes
                    # of the same interpreter. It has no Decimal: numbers of up to 15
                    # digits travel as floats (exact, and written the same way), wider
                    # ones as text, listed in ``wide`` and turned back into Decimals.
                    rows_done, batch, wide = marshal.loads(payload)  # noqa: S302
                    for index, name in wide:
                        batch[index][name] = Decimal(batch[index][name])
                    yield from batch
                    done.rows_done = rows_done
                    on_batch(len(batch))
                    continue
                stop.set()
                feeder.join()
                if failure:
                    raise failure[0]
                if kind == b"F":
                    cursor.empty_bodies, cursor.unterminated_size = _DECODER.decode(payload)
                    finished = True
                    return
                name, message, state = _DECODER.decode(payload)
                cursor.empty_bodies, cursor.unterminated_size = state
                finished = True
                raise _ERRORS[name](message)
        finally:
            if not finished:  # abandoned midway: the helper is out of step, replace it
                stop.set()
                self.close()
                feeder.join()


def _widen(pipe: IO[bytes] | None) -> None:
    """Give a pipe room for a few batches, so neither side waits on the other's every write."""
    if pipe is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):  # capped by /proc/sys/fs/pipe-max-size
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _feed(
    body: Body,
    sink: IO[bytes],
    spec: bytes,
    stop: threading.Event,
    failure: list[BaseException],
) -> None:
    """Feeder thread: the job, then the body's chunks, then the end mark."""
    try:
        _write(sink, b"J", spec)
        for chunk in body.chunks:
            if stop.is_set():
                break
            _write(sink, b"D", chunk)
    except TruncatedDownloadError as exc:
        failure.append(exc)
    except (BrokenPipeError, ValueError):
        return
    finally:
        body.close()
        try:
            _write(sink, b"E", b"")
            sink.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)

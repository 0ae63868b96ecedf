"""Singer message output: msgspec encoding, written in blocks, flushed when it matters.

The SDK's writers write and flush stdout once per message, and an unbuffered
stdout (``PYTHONUNBUFFERED``, common in containers) turns every record into a
system call. Records are collected in a buffer of the writer's own and written
in blocks of 64 KiB; any other message (STATE, SCHEMA) writes the buffer, then
itself, then flushes. All messages pass through the one buffer in order, so a
STATE never reaches the target before the records it covers. Records still in
the buffer when a run dies are not covered by any STATE, so a rerun sends them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message

BLOCK_BYTES: Final = 64 * 1024


class BufferedMsgSpecWriter(MsgSpecWriter):
    """MsgSpec writer that writes RECORD messages in blocks."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def flush(self) -> None:
        """Write out the buffered records and flush stdout."""
        if self._buffer:
            sys.stdout.buffer.write(self._buffer)
            self._buffer.clear()
        sys.stdout.flush()

    @override
    def write_message(self, message: Message) -> None:
        self._buffer += self.format_message(message)
        if not isinstance(message, RecordMessage):
            self.flush()
        elif len(self._buffer) >= BLOCK_BYTES:
            sys.stdout.buffer.write(self._buffer)
            self._buffer.clear()

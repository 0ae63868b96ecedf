"""Singer message output: msgspec encoding, flushing only when it matters.

The SDK's writers flush stdout after every message. Records go into the
stdout buffer unflushed; any other message (STATE, SCHEMA) flushes the buffer
with everything before it. Since all messages share one buffer in order, a
STATE can never reach the target before the records it covers.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message


class BufferedMsgSpecWriter(MsgSpecWriter):
    """MsgSpec writer that leaves RECORD messages in the stdout buffer."""

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()

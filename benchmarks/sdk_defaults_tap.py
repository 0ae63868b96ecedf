"""Runner (c): the tap with the SDK's defaults for output and type conformance.

Same tap, two changes: the SDK's default ``SingerWriter`` (json, flush per message)
instead of ``BufferedMsgSpecWriter``, and ``TypeConformanceLevel.RECURSIVE``
instead of ``NONE`` on the stream.

    python benchmarks/sdk_defaults_tap.py --config cfg.json > /dev/null
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.io_base import SingerWriter

from tap_emarsys_registrations.tap import TapEmarsysRegistrations

if TYPE_CHECKING:
    from tap_emarsys_registrations.streams import RegistrationsStream


class SDKDefaultsTap(TapEmarsysRegistrations):
    """The tap with the SDK's default writer and recursive type conformance."""

    message_writer_class = SingerWriter

    def discover_streams(self) -> list[RegistrationsStream]:
        streams = super().discover_streams()
        for stream in streams:
            stream.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE
        return streams


if __name__ == "__main__":
    SDKDefaultsTap.cli()

"""Convert Emarsys wall-clock timestamps (``YYYY-MM-DD HH:MM:SS``) to UTC, fast.

Emarsys writes the registration time as naive local time in the export zone.
A wall time in the repeated hour at the end of DST names two instants and the
file carries nothing to tell them apart; the tap always takes the first one
(``fold=0``), so every row maps to exactly one instant and thus one window.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_UTC: Final = dt.UTC
_HOUR_PREFIX: Final = 13  # len("YYYY-MM-DD HH")
_TIMESTAMP_LENGTH: Final = 19  # len("YYYY-MM-DD HH:MM:SS")
_TIMESTAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}", re.ASCII)
_HOUR: Final = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}", re.ASCII)
_MINUTES: Final = frozenset(f"{n:02d}" for n in range(60))  # also the seconds


class LocalTimestampConverter:
    """Turns local timestamp strings into UTC instants and canonical strings.

    Offsets are cached per local hour: when a zone's offset is a whole number
    of hours and does not change within that hour, minutes and seconds carry
    over unchanged and a conversion is a string concatenation.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._hours: dict[str, str | None] = {}

    def parse(self, raw: str) -> dt.datetime:
        """Parse ``raw`` as wall time in the zone and return the aware UTC instant.

        Raises:
            ValueError: if ``raw`` is not a ``YYYY-MM-DD HH:MM:SS`` timestamp.
        """
        text = raw.strip()
        if len(text) == len("YYYY-MM-DD HH:MM"):
            text += ":00"
        msg = f"not a 'YYYY-MM-DD HH:MM:SS' timestamp: {raw!r}"
        if not _TIMESTAMP.fullmatch(text):
            raise ValueError(msg)
        try:
            local = dt.datetime.fromisoformat(text)
        except ValueError as exc:  # a day, hour, minute or second out of range
            raise ValueError(f"{msg} ({exc})") from None
        return local.replace(tzinfo=self._zone, fold=0).astimezone(_UTC)

    def to_utc_string(self, raw: str) -> str:
        """Return ``raw`` converted to ``YYYY-MM-DDTHH:MM:SS+00:00``.

        Raises:
            ValueError: if ``raw`` is not a timestamp.
        """
        if (
            len(raw) == _TIMESTAMP_LENGTH
            and raw[13] == ":"
            and raw[16] == ":"
            and raw[14:16] in _MINUTES
            and raw[17:19] in _MINUTES
        ):
            prefix = raw[:_HOUR_PREFIX]
            utc_hour = self._hours.get(prefix, "")
            if utc_hour == "":
                utc_hour = self._utc_hour(prefix)
                self._hours[prefix] = utc_hour
            if utc_hour is not None:
                return f"{utc_hour}{raw[13:19]}+00:00"
        return self.parse(raw).isoformat(timespec="seconds")

    def _utc_hour(self, prefix: str) -> str | None:
        """The UTC ``YYYY-MM-DDTHH`` for a local hour, or None when it needs full math."""
        if not _HOUR.fullmatch(prefix):
            return None
        try:
            top = dt.datetime.fromisoformat(prefix + ":00:00")
        except ValueError:
            return None
        first = top.replace(tzinfo=self._zone, fold=0)
        last = (top + dt.timedelta(minutes=59, seconds=59)).replace(tzinfo=self._zone, fold=0)
        offset = first.utcoffset()
        if offset is None or offset != last.utcoffset() or offset % dt.timedelta(hours=1):
            return None
        return first.astimezone(_UTC).strftime("%Y-%m-%dT%H")

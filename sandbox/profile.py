"""Registration profiles and the export-time model.

A profile says how many registrations each UTC day holds: a base rate, raised
on the days of campaign bursts. A sparse account over years with one campaign
month is ``per_day=300`` with ``Burst(date(2025, 3, 1), 31, 20_000)``.

The export-time model says how long an export takes on the sandbox clock: a
fixed overhead per export (Emarsys: an export "may take a couple of minutes to
complete", however few rows it holds) plus a time per thousand rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Burst:
    """A campaign: ``per_day`` registrations a day over ``days`` UTC days from ``start``."""

    start: date
    days: int
    per_day: int

    def __post_init__(self) -> None:
        """Refuse empty or negative bursts."""
        if self.days < 1 or self.per_day < 0:
            msg = "a burst needs days >= 1 and per_day >= 0"
            raise ValueError(msg)

    @property
    def end(self) -> date:
        """The first day after the burst."""
        return self.start + timedelta(days=self.days)

    def covers(self, day: date) -> bool:
        """Whether ``day`` is one of the burst's days."""
        return self.start <= day < self.end

    @classmethod
    def parse(cls, text: str) -> Burst:
        """Read ``YYYY-MM-DD:DAYS:PER_DAY`` (the sandbox CLI's ``--burst``)."""
        try:
            start, days, per_day = text.split(":")
            return cls(date.fromisoformat(start), int(days), int(per_day))
        except ValueError:
            msg = f"a burst is YYYY-MM-DD:DAYS:PER_DAY, not {text!r}"
            raise ValueError(msg) from None


def rate_on(day: date, per_day: int, bursts: tuple[Burst, ...]) -> int:
    """Registrations on ``day``: the last burst covering it, else the base rate."""
    rate = per_day
    for burst in bursts:
        if burst.covers(day):
            rate = burst.per_day
    return rate


@dataclass(frozen=True, slots=True)
class ExportTime:
    """How long an export takes: ``overhead`` seconds plus ``per_thousand`` per 1,000 rows."""

    overhead: float = 0.0
    per_thousand: float = 0.0

    def __post_init__(self) -> None:
        """Refuse negative times."""
        if self.overhead < 0 or self.per_thousand < 0:
            msg = "export overhead and time per thousand rows must be >= 0"
            raise ValueError(msg)

    @property
    def counts_rows(self) -> bool:
        """Whether the duration depends on the rows (so they must be counted)."""
        return self.per_thousand > 0

    def seconds(self, rows: int) -> float:
        """The duration of an export of ``rows`` rows."""
        return self.overhead + self.per_thousand * rows / 1000

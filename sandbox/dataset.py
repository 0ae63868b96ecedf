"""The deterministic registration dataset (ground truth for the sandbox).

Time is cut into 15-minute UTC slots. Each slot's random registrations come from
``random.Random(f"{seed}:{day}:{slot}")``, so any window can be generated on its own,
lazily and in time order, without holding the whole dataset in memory. How many a
day holds follows the registration profile (``per_day``, raised by campaign bursts).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sandbox import vienna
from sandbox.fields import Field, all_fields
from sandbox.profile import rate_on
from sandbox.values import MASK64, Value, all_values, mix64, rendered_of, value_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sandbox.config import SandboxConfig

SLOT_SECONDS = 900
SLOTS_PER_DAY = 86400 // SLOT_SECONDS
REPEAT_PROBABILITY = 0.05
_USER_LOW, _USER_HIGH = 100_000, 1_000_000_000

# Registrations around the 2024 Europe/Vienna DST transitions (UTC instants).
DST_SPECIALS: tuple[datetime, ...] = tuple(
    datetime.fromisoformat(s)
    for s in (
        "2024-03-31T00:30:00+00:00",
        "2024-03-31T00:59:59+00:00",
        "2024-03-31T01:00:00+00:00",
        "2024-03-31T01:00:01+00:00",
        "2024-03-31T01:30:00+00:00",
        "2024-10-27T00:00:00+00:00",
        "2024-10-27T00:15:00+00:00",
        "2024-10-27T00:59:59+00:00",
        "2024-10-27T01:00:00+00:00",
        "2024-10-27T01:15:00+00:00",
        "2024-10-27T01:59:59+00:00",
        "2024-10-27T02:00:00+00:00",
    )
)


class Registration(NamedTuple):
    """One form registration: who, when (UTC), and the contact's field values."""

    user_id: int
    registered_at: datetime
    key: int
    quirk: int = -1

    @property
    def local_time(self) -> datetime:
        """Naive Europe/Vienna wall-clock time, as the CSV shows it."""
        return vienna.local_from_epoch(int(self.registered_at.timestamp()))

    @property
    def values(self) -> dict[int, Value]:
        """Typed values of every exportable field."""
        return all_values(self.key, self.quirk)

    def value(self, field_id: int) -> Value:
        """Typed value of one field."""
        return value_of(field_id, self.key, self.quirk)

    def rendered(self, field_id: int) -> str:
        """CSV rendering of one field's value."""
        return rendered_of(field_id, self.key, self.quirk)


@dataclass(frozen=True)
class TruthRow:
    """Ground truth for one registration, independent of any CSV rendering."""

    user_id: int
    registered_at: datetime
    local_time: datetime
    values: dict[int, Value]


def _epoch(moment: datetime) -> int:
    """Return whole UTC epoch seconds; naive datetimes are read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class Dataset:
    """All registrations in ``[config.start, config.start + config.days)``, generated lazily."""

    def __init__(self, config: SandboxConfig) -> None:
        """Prepare the dataset; only the handful of special registrations is built eagerly."""
        self.seed = config.seed
        self.per_day = config.per_day
        self.bursts = config.bursts
        self.start: datetime = config.start
        self.end: datetime = config.start + timedelta(days=config.days)
        self._start_epoch = _epoch(self.start)
        self._end_epoch = _epoch(self.end)
        self._seed_key = mix64(config.seed & MASK64)
        self.pool_size = max(20, config.per_day // 20)
        self._extra: dict[date, frozenset[int]] = {}
        self._specials: dict[int, list[Registration]] = {}
        for reg in self._build_specials():
            epoch = _epoch(reg.registered_at)
            if self._start_epoch <= epoch < self._end_epoch:
                self._specials.setdefault(epoch // SLOT_SECONDS, []).append(reg)

    @property
    def fields(self) -> tuple[Field, ...]:
        """Every contact field of the simulated account."""
        return all_fields()

    def contact_key(self, user_id: int) -> int:
        """Return the hash key from which a contact's field values derive."""
        return mix64(self._seed_key ^ user_id)

    def repeat_user(self, index: int) -> int:
        """Return the user id of the ``index``-th contact that registers repeatedly."""
        return _USER_LOW + mix64(self._seed_key ^ (0xA5A5 + index)) % (_USER_HIGH - _USER_LOW)

    def _fresh_user(self, label: str) -> int:
        return random.Random(f"{self.seed}:{label}").randrange(_USER_LOW, _USER_HIGH)

    def _make(self, user_id: int, moment: datetime, quirk: int = -1) -> Registration:
        return Registration(user_id, moment, self.contact_key(user_id), quirk)

    def _build_specials(self) -> Iterator[Registration]:
        first_day = datetime.combine(self.start.date(), datetime.min.time(), UTC)
        for hour in range(24):
            moment = first_day + timedelta(hours=hour)
            if hour in (6, 18):  # the same contact registers twice on the first day
                yield self._make(self.repeat_user(0), moment)
            else:
                yield self._make(self._fresh_user(f"hour:{hour}"), moment, quirk=hour)
        day = self.start.date()
        index = 0
        while day <= self.end.date():
            midnight = vienna.from_local(datetime.combine(day, datetime.min.time()))
            yield self._make(self.repeat_user(1 + index % 2), midnight)
            day += timedelta(days=1)
            index += 1
        for moment in DST_SPECIALS:
            yield self._make(self._fresh_user(f"dst:{moment.isoformat()}"), moment)

    def per_day_on(self, day: date) -> int:
        """Random registrations on the UTC ``day`` under the profile (specials aside)."""
        return rate_on(day, self.per_day, self.bursts)

    def _extra_slots(self, day: date) -> frozenset[int]:
        """Return the slots of ``day`` that get one of the ``rate % 96`` extra rows."""
        extra = self._extra.get(day)
        if extra is None:
            rng = random.Random(f"{self.seed}:{day.isoformat()}")
            rate = self.per_day_on(day)
            extra = frozenset(rng.sample(range(SLOTS_PER_DAY), rate % SLOTS_PER_DAY))
            self._extra[day] = extra
        return extra

    def _slot(self, slot_id: int) -> list[Registration]:
        """Return the registrations of one 15-minute slot, sorted by (time, user_id)."""
        slot_start = slot_id * SLOT_SECONDS
        day = date.fromordinal(date(1970, 1, 1).toordinal() + slot_id // SLOTS_PER_DAY)
        index = slot_id % SLOTS_PER_DAY
        count = self.per_day_on(day) // SLOTS_PER_DAY + (index in self._extra_slots(day))
        rng = random.Random(f"{self.seed}:{day.isoformat()}:{index}")
        rand = rng.random
        pool, seed_key = self.pool_size, self._seed_key
        from_ts = datetime.fromtimestamp
        regs = list(self._specials.get(slot_id, ()))
        for _ in range(count):
            epoch = slot_start + int(rand() * SLOT_SECONDS)
            if rand() < REPEAT_PROBABILITY:
                user = self.repeat_user(int(rand() * pool))
            else:
                user = _USER_LOW + int(rand() * (_USER_HIGH - _USER_LOW))
            if self._start_epoch <= epoch < self._end_epoch:
                regs.append(Registration(user, from_ts(epoch, UTC), mix64(seed_key ^ user)))
        regs.sort(key=lambda r: (r.registered_at, r.user_id))
        return regs

    def registrations(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[Registration]:
        """Yield registrations with ``start <= registered_at < end`` (UTC) in time order."""
        lo = self._start_epoch if start is None else max(_epoch(start), self._start_epoch)
        hi = self._end_epoch if end is None else min(_epoch(end), self._end_epoch)
        if hi <= lo:
            return
        for slot_id in range(lo // SLOT_SECONDS, (hi - 1) // SLOT_SECONDS + 1):
            for reg in self._slot(slot_id):
                if lo <= _epoch(reg.registered_at) < hi:
                    yield reg

    def count(self, start: datetime, end: datetime) -> int:
        """Return how many registrations have ``start <= registered_at < end`` (UTC).

        Whole days inside the dataset are counted from the profile without being
        generated, so counting a year costs about as much as generating two slots.
        """
        lo = max(_epoch(start), self._start_epoch)
        hi = min(_epoch(end), self._end_epoch)
        day_seconds = SLOTS_PER_DAY * SLOT_SECONDS
        total = 0
        cursor = lo
        while cursor < hi:
            day_end = (cursor // day_seconds + 1) * day_seconds
            if cursor % day_seconds == 0 and day_end <= hi:
                day = date.fromordinal(date(1970, 1, 1).toordinal() + cursor // day_seconds)
                first, last = cursor // SLOT_SECONDS, day_end // SLOT_SECONDS
                total += self.per_day_on(day) + sum(
                    len(self._specials.get(slot, ())) for slot in range(first, last)
                )
            else:
                upper = min(day_end, hi)
                total += sum(1 for _ in self.registrations(_utc(cursor), _utc(upper)))
            cursor = day_end
        return total

    def count_local(self, low: datetime, high: datetime) -> int:
        """About the rows between naive Vienna wall times (their UTC span, both ends in).

        For the export-time model, which needs a size, not the exact bound convention.
        """
        return self.count(vienna.from_local(low), vienna.from_local(high) + timedelta(seconds=1))

    def select_local(self, low: datetime, high: datetime, bounds: str) -> Iterator[Registration]:
        """Yield registrations whose Vienna wall time lies between naive ``low`` and ``high``.

        ``bounds`` is one of ``[]``, ``[)``, ``(]``, ``()`` (which ends are inclusive).
        Rows come in UTC registration order.
        """
        # Vienna is UTC+1 or UTC+2, so the matching UTC instants lie in [low-2h, high-1h].
        # Clamp first so that extreme (year 1 / 9999) bounds cannot overflow.
        floor = self.start.replace(tzinfo=None) - timedelta(days=1)
        ceiling = self.end.replace(tzinfo=None) + timedelta(days=1)
        utc_low = (max(low, floor) - timedelta(hours=3)).replace(tzinfo=UTC)
        utc_high = (min(high, ceiling) + timedelta(seconds=1)).replace(tzinfo=UTC)
        low_open, high_open = bounds[0] == "(", bounds[1] == ")"
        for reg in self.registrations(utc_low, utc_high):
            local = reg.local_time
            if (local > low or (not low_open and local == low)) and (
                local < high or (not high_open and local == high)
            ):
                yield reg

    def truth(self, start: datetime, end: datetime) -> list[TruthRow]:
        """Return ground truth for ``start <= registered_at < end`` (UTC), time-ordered."""
        return [
            TruthRow(reg.user_id, reg.registered_at, reg.local_time, reg.values)
            for reg in self.registrations(start, end)
        ]

    def __iter__(self) -> Iterator[Registration]:
        """Iterate over the whole dataset in time order."""
        return self.registrations()

"""Export spans: consecutive grid windows merged into one export, sized from the rows seen.

Each export costs a fixed wait (Emarsys: "may take a couple of minutes"), however
few rows it holds, so a backfill of a sparse account should ask for long spans.
The grid stays the unit: a span is a run of whole ``window_hours`` windows, so
bookmarks, keys and ``window_start`` are the same as with one export per window.

Sizing is pure arithmetic over what earlier exports returned:

- Before anything is known, a run with no more windows due than exports may be in
  flight starts one export per window, as before merging existed (an incremental
  run is never slower). A longer run first exports one window alone, a probe.
- After that, the density is the highest rate of rows per second of any grid
  window among the last ``MEMORY`` exports read: a burst shrinks the next span at
  once, and a quiet stretch lets it grow back to the target after a few exports.
- A span holds as many windows as keep the expected rows at most
  ``target_rows``, at least one, at most ``max_windows``.
- Empty exports say nothing about the density (a ``start_date`` before the
  account's first registration): while every remembered export is empty, a span
  grows at most ``EMPTY_GROWTH``-fold over the longest of them.
- A merged export that fails or times out is retried as two halves (``halves``),
  down to single windows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tap_emarsys_registrations.windows import Window

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence

# How many of the latest exports the density estimate remembers.
MEMORY: Final = 3
# How much longer a span may be than the longest remembered one while all were empty.
EMPTY_GROWTH: Final = 4


@dataclass(frozen=True, slots=True)
class Span:
    """Consecutive grid windows covered by one export."""

    windows: tuple[Window, ...]

    def __post_init__(self) -> None:
        if not self.windows:
            msg = "a span holds at least one window"
            raise ValueError(msg)
        for before, after in zip(self.windows, self.windows[1:], strict=False):
            if before.end != after.start:
                msg = f"windows {before} and {after} are not consecutive"
                raise ValueError(msg)

    @property
    def window(self) -> Window:
        """The whole span as one half-open UTC window."""
        return Window(self.windows[0].start, self.windows[-1].end)

    @property
    def merged(self) -> bool:
        """Whether the span holds more than one grid window."""
        return len(self.windows) > 1

    def halves(self) -> tuple[Span, Span]:
        """The span split in two at the grid boundary nearest its middle.

        The first half gets the odd window.

        Raises:
            ValueError: for a single grid window, which cannot be split.
        """
        if not self.merged:
            msg = f"{self.window} is one grid window and cannot be split"
            raise ValueError(msg)
        middle = (len(self.windows) + 1) // 2
        return Span(self.windows[:middle]), Span(self.windows[middle:])

    def __str__(self) -> str:
        return str(self.window)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one finished export returned: its span and the rows of each grid window."""

    span: Span
    rows: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.span.windows):
            msg = "one row count per grid window"
            raise ValueError(msg)

    @property
    def total(self) -> int:
        """All rows of the export."""
        return sum(self.rows)

    @property
    def peak_density(self) -> float:
        """The highest rows per second of any of its grid windows."""
        return max(
            rows / _seconds(window)
            for rows, window in zip(self.rows, self.span.windows, strict=True)
        )


@dataclass(frozen=True, slots=True)
class SpanPolicy:
    """How far spans may grow: the rows one export should hold, the windows it may span."""

    target_rows: int
    max_windows: int
    concurrency: int = 1

    def __post_init__(self) -> None:
        if self.target_rows < 1 or self.max_windows < 1 or self.concurrency < 1:
            msg = "target_rows, max_windows and concurrency must be >= 1"
            raise ValueError(msg)

    @classmethod
    def build(
        cls,
        *,
        window: dt.timedelta,
        max_window: dt.timedelta,
        target_rows: int,
        with_timestamp: bool,
        concurrency: int = 1,
    ) -> SpanPolicy:
        """The policy for the settings; merging is off without timestamps.

        Without a timestamp column no row can be placed in its grid window, so a
        merged export could not give each record its ``window_start``.
        """
        windows = max(1, int(max_window / window)) if with_timestamp else 1
        return cls(target_rows=target_rows, max_windows=windows, concurrency=concurrency)

    @property
    def merging(self) -> bool:
        """Whether an export may span more than one grid window."""
        return self.max_windows > 1


def estimate_density(observations: Iterable[Observation]) -> float | None:
    """The highest grid-window density (rows per second) seen, or None before any export."""
    peaks = [observation.peak_density for observation in observations]
    return max(peaks) if peaks else None


def windows_for(policy: SpanPolicy, windows: Sequence[Window], density: float) -> int:
    """How many of ``windows`` (from the first) the next export spans at ``density``.

    The most whose expected rows stay at or under the target, at least one, at most
    ``policy.max_windows``.
    """
    limit = min(policy.max_windows, len(windows))
    if limit <= 1:
        return limit
    count, seconds = 1, _seconds(windows[0])
    while count < limit:
        seconds += _seconds(windows[count])
        if density * seconds > policy.target_rows:
            break
        count += 1
    return count


class SpanPlanner:
    """Cuts a run's grid windows into export spans, learning from each finished export."""

    def __init__(self, policy: SpanPolicy, windows: Sequence[Window]) -> None:
        self.policy = policy
        self._windows = list(windows)
        self._next = 0
        self._observations: deque[Observation] = deque(maxlen=MEMORY)
        self._observed = 0
        # Few windows due: one export each, all in flight at once, as without merging.
        self._blind = not policy.merging or len(self._windows) <= policy.concurrency

    @property
    def remaining(self) -> int:
        """Grid windows not yet given to a span."""
        return len(self._windows) - self._next

    @property
    def waiting(self) -> bool:
        """Whether the next span must wait until an export in flight has been read."""
        return self.remaining > 0 and not self._blind and self._next > 0 and not self._observed

    def density(self) -> float | None:
        """The density the next span is sized from (None before any export was read)."""
        return estimate_density(self._observations)

    def saved_span_windows(self, saved_end: dt.datetime | None) -> int | None:
        """How many windows from the next one end at ``saved_end`` (a saved export's span).

        None when no saved span starts at the next window, when it does not end on a
        grid boundary of this run, or when it holds more windows than the policy allows.
        """
        if saved_end is None or self.remaining <= 0:
            return None
        for count, window in enumerate(self._windows[self._next :], start=1):
            if count > self.policy.max_windows or window.end > saved_end:
                return None
            if window.end == saved_end:
                return count
        return None

    def next_span(self, first_window_of: int | None = None) -> Span | None:
        """The next span, or None when every window is planned or evidence is awaited.

        ``first_window_of`` forces a span of exactly that many windows (a saved
        export of an earlier run is reused as it was started, evidence or not).
        """
        if self.remaining <= 0 or (self.waiting and first_window_of is None):
            return None
        rest = self._windows[self._next :]
        if first_window_of is not None:
            count = max(1, min(first_window_of, len(rest)))
        elif self._blind or not self._observed:
            count = 1
        else:
            count = windows_for(self.policy, rest, self.density() or 0.0)
            if all(observation.total == 0 for observation in self._observations):
                longest = max(len(o.span.windows) for o in self._observations)
                count = min(count, EMPTY_GROWTH * longest)
        self._next += count
        return Span(tuple(rest[:count]))

    def next_start(self) -> dt.datetime | None:
        """The start of the next window to plan, if any."""
        return self._windows[self._next].start if self.remaining > 0 else None

    def observe(self, observation: Observation) -> None:
        """Learn from a finished export's rows per grid window."""
        self._observations.append(observation)
        self._observed += 1


def _seconds(window: Window) -> float:
    return (window.end - window.start).total_seconds()

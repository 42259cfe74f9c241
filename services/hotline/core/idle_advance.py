"""Whether a live worker moves its idle partitions to the wall clock, and to which instant.

Consumes the worker's time mode settings (its idle advance), the newest event time the
worker has read with the wall time it read it at (`NewestInput`), and the wall clock
now. Produces an `IdleAdvance`: the instant every partition is ticked to, or none and
why.

A live worker ticks idle partitions to the wall clock less the idle advance, so merges
and deadlines go on when a partition falls quiet. That is only right while the input is
current. Input read more than a day (beyond the idle advance) after it happened is
history — a file replayed into a live worker, or a backlog after an outage — and a tick
to now would carry every partition past all of it at once: every deadline of the
history breached and every window closed before its events are even read. So ticks wait
while the newest input is historic, and until the worker has read any input at all
(the first input could be history). Event time then moves with the events alone, as in
a replay, until current input arrives again.

The newest input is judged by when it was read, not by how long ago it was read: a live
source that falls quiet for a night or a weekend stays live, and its idle partitions
keep following the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass

# How far behind the wall clock, beyond the idle advance, input may be read and still be
# current: a day covers sources that deliver late (offline devices, nightly transfers).
HISTORIC_LAG_SECONDS = 86400

REPLAY = "replay"
AWAITING_INPUT = "awaiting_input"
HISTORIC_INPUT = "historic_input"
FOLLOWING_WALL_CLOCK = "following_wall_clock"


@dataclass
class NewestInput:
    """The highest event time a worker has read, and the wall time it first read it at."""

    occurred_at_seconds: float | None = None
    read_at_seconds: float | None = None

    def observe(self, occurred_at_seconds: float, read_at_seconds: float) -> None:
        """An input event was read; late events leave the newest one as it is."""
        if self.occurred_at_seconds is None or occurred_at_seconds > self.occurred_at_seconds:
            self.occurred_at_seconds = occurred_at_seconds
            self.read_at_seconds = read_at_seconds

    @property
    def lag_seconds(self) -> float | None:
        """How far behind the wall clock the newest input was when it was read."""
        if self.occurred_at_seconds is None or self.read_at_seconds is None:
            return None
        return self.read_at_seconds - self.occurred_at_seconds


@dataclass(frozen=True)
class IdleAdvance:
    """The outcome: `state` says why, `tick_at_seconds` is the instant to tick every
    partition to (None: no tick), `input_lag_seconds` the newest input's lag (None: no
    input read yet)."""

    state: str
    tick_at_seconds: float | None = None
    input_lag_seconds: float | None = None


def decide_idle_advance(
    now_seconds: float,
    newest: NewestInput,
    idle_advance_seconds: int,
    historic_lag_seconds: float = HISTORIC_LAG_SECONDS,
) -> IdleAdvance:
    """Where idle partitions go at wall time `now_seconds` (idle advance 0: replay, never)."""
    if idle_advance_seconds <= 0:
        return IdleAdvance(REPLAY)
    lag_seconds = newest.lag_seconds
    if lag_seconds is None:
        return IdleAdvance(AWAITING_INPUT)
    if lag_seconds > idle_advance_seconds + historic_lag_seconds:
        return IdleAdvance(HISTORIC_INPUT, input_lag_seconds=lag_seconds)
    return IdleAdvance(FOLLOWING_WALL_CLOCK, now_seconds - idle_advance_seconds, lag_seconds)

"""How long `hotline replay` waits before sending the next event.

Three modes: as fast as possible, a fixed rate (events per second), or event time
compressed by a speed-up factor (100x: an hour of history takes 36 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReplayPacer:
    rate: float | None = None
    speedup: float | None = None
    _first_event_seconds: float | None = field(default=None, init=False)
    _latest_event_seconds: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate is not None and self.speedup is not None:
            raise ValueError("choose either a rate or a speed-up, not both")

    @property
    def needs_event_time(self) -> bool:
        return self.speedup is not None

    def wait_seconds(self, sent: int, elapsed_seconds: float, event_seconds: float | None = None) -> float:
        """Seconds to sleep after the `sent`-th event, `elapsed_seconds` after the start."""
        if self.rate is not None:
            return max(0.0, sent / self.rate - elapsed_seconds)
        if self.speedup is None or event_seconds is None:
            return 0.0
        if self._first_event_seconds is None:
            self._first_event_seconds = event_seconds
        # Out-of-order events do not pull the schedule back.
        if self._latest_event_seconds is None or event_seconds > self._latest_event_seconds:
            self._latest_event_seconds = event_seconds
        due_seconds = (self._latest_event_seconds - self._first_event_seconds) / self.speedup
        return max(0.0, due_seconds - elapsed_seconds)

"""A live worker's ticker says once, not on every tick, that its input turned historic or
current again."""

from __future__ import annotations

import logging

from hotline.core.idle_advance import AWAITING_INPUT, FOLLOWING_WALL_CLOCK, HISTORIC_INPUT
from hotline.stream.idle_ticks import IdleTicker

NOW = 1_780_000_000.0
YEAR = 365 * 86400.0


def test_historic_input_is_reported_once_then_current_input_once(caplog):
    caplog.set_level(logging.INFO, logger="hotline.stream.idle_ticks")
    ticker = IdleTicker(idle_advance_seconds=5)
    # given nothing read yet: no tick and nothing to say
    assert ticker.decide(NOW).state == AWAITING_INPUT
    # when a file of last year's events is read, ticked three times
    ticker.newest_input.observe(NOW - YEAR, NOW)
    states = [ticker.decide(NOW + step).state for step in range(3)]
    # and then the live source's first event
    ticker.newest_input.observe(NOW + 9, NOW + 10)
    decision = ticker.decide(NOW + 10)

    assert states == [HISTORIC_INPUT] * 3
    assert (decision.state, decision.tick_at_seconds) == (FOLLOWING_WALL_CLOCK, NOW + 5)
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        (
            "WARNING",
            "live mode: the input is historic (newest event time 2025-05-28T20:26:40Z, read 365.0 days behind the wall clock): "
            "idle partitions are not moved to the wall clock until current input is read; "
            "to replay history, run the worker in replay mode and end with `hotline clock advance`",
        ),
        ("INFO", "live mode: the input is current: idle partitions follow the wall clock less 5 s"),
    ]

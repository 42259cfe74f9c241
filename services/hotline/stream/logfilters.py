"""Keeping the worker log readable while the broker is away.

While the broker is unreachable the Kafka client retries in a tight loop and logs every
failed attempt: thousands of identical ERROR lines a second (12 MB in a 33 s outage in
the broker-restart test). `RepeatLimiter` lets one line per message template through
every `interval_seconds` and says how many it held back, so an outage still shows, with
its duration, without filling the disk.

Faust's producer does the same under load: "producer buffer full size 110" and "producer
flush took 0.05" each time the streams wait for its buffer (hundreds a minute in a
replay), with the number written into the message, so lines count as repeats when they
differ only in their numbers.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Callable

# aiokafka's loggers that repeat a line per retry (client: connect and metadata; the
# fetcher and the group coordinator: requests to a node that is not ready).
KAFKA_CLIENT_LOGGERS = ("aiokafka", "aiokafka.consumer.fetcher", "aiokafka.consumer.group_coordinator")
# Faust's producer: the buffer-full and flush-time lines.
FAUST_PRODUCER_LOGGER = "faust.transport.producer"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class RepeatLimiter(logging.Filter):
    def __init__(self, interval_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval_seconds = interval_seconds
        self.clock = clock
        self._last_passed: dict[tuple[str, str], float] = {}
        self._held_back: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, _NUMBER.sub("#", str(record.msg)))
        now = self.clock()
        last = self._last_passed.get(key)
        if last is not None and now - last < self.interval_seconds:
            self._held_back[key] = self._held_back.get(key, 0) + 1
            return False
        held_back = self._held_back.pop(key, 0)
        if held_back:
            record.msg = f"{record.msg} ({held_back} more like this in the last {now - last:.0f}s)"
        self._last_passed[key] = now
        return True


def limit_kafka_client_repeats(interval_seconds: float = 10.0) -> None:
    limiter = RepeatLimiter(interval_seconds)
    for name in (*KAFKA_CLIENT_LOGGERS, FAUST_PRODUCER_LOGGER):
        logging.getLogger(name).addFilter(limiter)

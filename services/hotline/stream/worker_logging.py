"""The worker class of every Faust app of the project: logging at the level asked for.

faust-streaming 0.15's `faust.worker.Worker._setup_spinner_handler` (called whenever
the log level is WARN or above, e.g. `-l warn`) attaches its progress spinner to the
root logger and sets the root logger to DEBUG, so that the spinner turns on every
record. From then on every `logger.debug(...)` of Faust, mode and aiokafka builds a
record and runs it through the handlers before they drop it: on the per-message path
that is 10-20 % of a worker's CPU. `Worker` keeps the spinner but leaves the root logger
at the level the worker was started with.

`root_logger_after_setup` measures the defect: with the stock class the root logger
ends at DEBUG, with this one at the requested level (tests/unit/stream/test_worker_logging.py).
"""

from __future__ import annotations

import io
import logging

import faust
from faust.utils import terminal


class Worker(faust.Worker):
    def _setup_spinner_handler(self, logger: logging.Logger, level: int) -> None:
        if self.spinner:
            logger.handlers[0].setLevel(level)
            logger.addHandler(terminal.SpinnerHandler(self.spinner, level=level))
            logger.setLevel(level)


def root_logger_after_setup(worker_class: type[faust.Worker], level: int) -> int:
    """The level a root logger with one handler has after `worker_class` sets it up for
    a worker started at `level` (a throwaway logger and app: nothing global changes)."""
    app = faust.App("hotline-logging-check", broker="kafka://127.0.0.1:9", web_enabled=False)
    worker = worker_class(app, loglevel=level, stdout=io.StringIO(), stderr=io.StringIO())
    root = logging.Logger("root-under-test", level=level)
    root.addHandler(logging.NullHandler())
    worker.on_setup_root_logger(root, level)
    return root.level

"""`hotline worker` freezes its start-up objects and collects the young generation less often."""

from __future__ import annotations

import subprocess
import sys

# A fresh interpreter: the collector's settings are process-wide.
COLLECTOR_OF_A_WORKER = """
import gc
from hotline.cli.main import tune_garbage_collector
before = gc.get_freeze_count()
tune_garbage_collector()
print(gc.get_threshold(), before, gc.get_freeze_count() > 1000, gc.isenabled())
"""


def test_a_worker_freezes_start_up_objects_and_raises_the_first_threshold():
    result = subprocess.run([sys.executable, "-c", COLLECTOR_OF_A_WORKER], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["(10000,", "10,", "10)", "0", "True", "True"]

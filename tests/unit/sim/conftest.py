"""Fixtures of the simulator tests."""

from __future__ import annotations

import pytest
from simulator_runs import RUNS, run

from hotline.sim import Simulation


@pytest.fixture(params=sorted(RUNS))
def any_run(request: pytest.FixtureRequest) -> Simulation:
    return run(request.param)

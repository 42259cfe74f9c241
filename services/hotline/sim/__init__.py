"""A deterministic simulator of a Chinese city's 12345 hotline.

Consumes a `SimulationSpec` (days, seed, scenario, first day, appeals per working day);
produces the input events of hotline.events.v1, the office registry of
hotline.offices.v1 and the ground truth the processor is scored against. Pure: one
seeded random generator, no clock, no I/O, no broker (`hotline simulate` writes files).
"""

from hotline.sim.engine import DEFAULT_APPEALS_PER_DAY, DEFAULT_START, Simulation, SimulationSpec, encode_lines, simulate
from hotline.sim.scenarios import SCENARIO_NAMES, SCENARIOS, Scenario

__all__ = [
    "DEFAULT_APPEALS_PER_DAY",
    "DEFAULT_START",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "Scenario",
    "Simulation",
    "SimulationSpec",
    "encode_lines",
    "simulate",
]

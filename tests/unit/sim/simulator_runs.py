"""Simulated runs shared by the simulator tests: each is generated once per session."""

from __future__ import annotations

from functools import cache

from hotline.sim import Simulation, SimulationSpec, simulate

# Small cities and short runs keep the whole simulator suite within seconds, while each
# scenario still shows what it claims.
RUNS = {
    "steady": SimulationSpec(days=7, seed=11, scenario="steady", appeals_per_day=300),
    "overload": SimulationSpec(days=4, seed=12, scenario="overload", appeals_per_day=200),
    "ping-pong": SimulationSpec(days=8, seed=13, scenario="ping-pong", appeals_per_day=150),
    "repeat-storm": SimulationSpec(days=4, seed=14, scenario="repeat-storm", appeals_per_day=150),
    "target-substitution": SimulationSpec(days=12, seed=15, scenario="target-substitution", appeals_per_day=150),
}


@cache
def run(name: str) -> Simulation:
    return simulate(RUNS[name])


def events_by_order(simulation: Simulation) -> dict[str, list[dict]]:
    orders: dict[str, list[dict]] = {}
    for event in simulation.events:
        orders.setdefault(event["order_id"], []).append(event)
    return orders


def truth_of(simulation: Simulation, kind: str) -> list[dict]:
    return [record for record in simulation.truth if record["kind"] == kind]

"""What each simulator scenario adds to an ordinary day in the city.

Consumes nothing; produces the `Scenario` parameters the engine reads. A scenario only
changes the mix: one office's surge (overload), one unresolved issue repeated by many
callers (repeat-storm), orders bounced between two offices (ping-pong), or one office
closing just before the deadline with coaxed ratings, its problems coming back as
reopenings and repeat calls (target-substitution). Which office, issue or pair is
hit is drawn from the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # overload: extra appeals at one street office, as a multiple of its daily capacity
    # per day, for surge_hours from 09:00 of the second simulated day.
    surge_inflow_ratio: float = 0.0
    surge_hours: int = 0
    # repeat-storm: one water outage nobody fixes for storm_days; repeats per day.
    storm_days: int = 0
    storm_min_repeats_per_day: int = 0
    storm_repeats_per_appeal_ratio: float = 0.0
    # ping-pong: street offices whose orders bounce to a partner office, and how often.
    ping_pong_offices: int = 0
    ping_pong_ratio: float = 0.0
    # target-substitution: the busiest street office resolving just before the deadline;
    # the lifecycle and the engine model the coaxed ratings, reopenings and call-backs.
    rush_closure_ratio: float = 0.0


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("steady", "an ordinary city: day and week rhythm, holidays, repeats, out-of-scope appeals"),
        Scenario(
            "overload",
            "one street office gets a surge it cannot absorb; its backlog grows and deadlines are breached",
            surge_inflow_ratio=4.0,
            surge_hours=30,
        ),
        Scenario(
            "repeat-storm",
            "one unresolved water outage drives many reworded repeats from many callers",
            storm_days=3,
            storm_min_repeats_per_day=30,
            storm_repeats_per_appeal_ratio=0.12,
        ),
        Scenario(
            "ping-pong",
            "orders of three street offices are bounced to and fro with a partner office",
            ping_pong_offices=3,
            ping_pong_ratio=0.5,
        ),
        Scenario(
            "target-substitution",
            "the busiest street office resolves most orders just before their deadline and coaxes good ratings; reopenings and repeat calls follow",
            rush_closure_ratio=0.65,
        ),
    )
}
SCENARIO_NAMES = tuple(SCENARIOS)

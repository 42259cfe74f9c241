"""`hotline simulate`: write a simulated city's events, office registry and ground truth.

Calls the pure simulator (hotline.sim) and writes its output as JSON lines; reports the
generation speed on stderr. Needs no broker: pipe the events into `hotline replay -`.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

import click

from hotline.sim import DEFAULT_APPEALS_PER_DAY, DEFAULT_START, SCENARIO_NAMES, SimulationSpec, encode_lines, simulate
from hotline.sim.calendar import CalendarDataMissing


def _write(path: str, payload: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return
    with open(path, "wb") as stream:
        stream.write(payload)


@click.command("simulate")
@click.option("--days", type=click.IntRange(1, 3660), required=True, help="Simulated days, from --start.")
@click.option("--seed", type=int, required=True, help="Seed: the same seed and options give byte-identical files.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, allow_dash=True), required=True, help="Events file (JSON lines); - for stdout.")
@click.option("--offices", "offices_path", type=click.Path(dir_okay=False), help="Also write the office registry (JSON lines).")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False), help="Also write the ground truth (JSON lines).")
@click.option("--scenario", type=click.Choice(SCENARIO_NAMES), default="steady", show_default=True)
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=DEFAULT_START.isoformat(), show_default=True, help="First simulated day (local, UTC+08:00).")
@click.option("--appeals-per-day", type=click.IntRange(1, 1_000_000), default=DEFAULT_APPEALS_PER_DAY, show_default=True, help="Fresh appeals on a working day (weekends and holidays get fewer; repeats come on top).")
def simulate_command(
    days: int, seed: int, out_path: str, offices_path: str | None, truth_path: str | None, scenario: str, start: datetime, appeals_per_day: int
) -> None:
    """Simulate a Chinese city's 12345 hotline: appeals, work orders and their lifecycles."""
    started = time.perf_counter()
    try:
        simulation = simulate(SimulationSpec(days, seed, scenario, start.date(), appeals_per_day))
    except CalendarDataMissing as error:
        raise click.BadParameter(str(error), param_hint="--start/--days") from None
    events = encode_lines(simulation.events)
    elapsed_seconds = time.perf_counter() - started
    _write(out_path, events)
    if offices_path is not None:
        _write(offices_path, encode_lines(simulation.offices))
    if truth_path is not None:
        _write(truth_path, encode_lines(simulation.truth))
    count = len(simulation.events)
    appeals = sum(1 for record in simulation.truth if record["kind"] == "appeal")
    click.echo(
        f"simulate: {count} events ({appeals} appeals, {len(simulation.offices)} offices) in {elapsed_seconds:.2f} s: "
        f"{count / max(elapsed_seconds, 1e-9):,.0f} events/s",
        err=True,
    )


def register(cli: click.Group) -> None:
    cli.add_command(simulate_command)

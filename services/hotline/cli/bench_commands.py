"""`hotline bench`: measure the pipeline against baselines on one broker, in one run.

Consumes a broker (a throwaway one it starts, or --broker) and simulated events; produces
a rich table on the terminal and a JSON report (--output). The phases live in
hotline.bench.phases; this module parses options, shows progress and always stops the
processes and the broker it started, also when a phase fails or it is interrupted.
"""

from __future__ import annotations

import os
import platform
import signal
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hotline.bench import phases, report
from hotline.bench.broker import ThrowawayBroker
from hotline.contract import codec

DEFAULT_RATES = "100,1000,5000"  # 1000: the latency goal's rate


class RichReporter:
    """Progress of the phases: one line per phase with a bar when the total is known."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._task = None

    def step(self, description: str, total: int | None = None) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total or 1, total=task.total or 1, detail="")
        self._task = self._progress.add_task(description, total=total, detail="")

    def advance(self, completed: int, **fields: object) -> None:
        detail = "  ".join(f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}" for name, value in fields.items())
        self._progress.update(self._task, completed=completed, detail=detail)

    def note(self, text: str) -> None:
        self._progress.update(self._task, detail=text)


def parse_rates(text: str) -> tuple[int, ...]:
    try:
        rates = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}", param_hint="--rates") from None
    if not rates or any(rate <= 0 for rate in rates):
        raise click.BadParameter("rates must be positive", param_hint="--rates")
    return rates


def _load_average() -> list[float]:
    """1, 5 and 15 minute load averages: how busy the shared cores were."""
    return [float(part) for part in Path("/proc/loadavg").read_text().split()[:3]]


def _terminate_gracefully(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@click.command("bench")
@click.option("--events", type=click.IntRange(min=1000), default=50_000, show_default=True, help="Pre-produced simulated events drained by every throughput phase.")
@click.option("--rates", default=DEFAULT_RATES, show_default=True, help="Offered rates (events/s) of the latency runs, comma-separated.")
@click.option("--latency-seconds", type=click.FloatRange(min=5), default=20.0, show_default=True, help="Length of each latency run.")
@click.option("--grace-seconds", type=click.FloatRange(min=1), default=10.0, show_default=True, help="Wait after the last send of a latency run before judging it.")
@click.option("--skip-latency", is_flag=True)
@click.option("--skip-scaleout", is_flag=True)
@click.option("--skip-memory", is_flag=True, help="Skip the orders table and dedupe index measurements (the worker's RSS is read anyway).")
@click.option(
    "--city-appeals-per-day",
    type=click.IntRange(min=100),
    default=phases.ORDERS_MEMORY_APPEALS_PER_DAY,
    show_default=True,
    help=f"Appeals per working day of the simulated city ({phases.ORDERS_MEMORY_DAYS} days) whose open orders the orders-table memory phase holds.",
)
@click.option("--broker", help="host:port of an existing broker (default: start a throwaway one).")
@click.option("--output", type=click.Path(dir_okay=False), default="bench-results.json", show_default=True)
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), help="Record the one-worker drain with py-spy (speedscope JSON) here; slows that worker.")
@click.option("--seed", type=int, default=12345, show_default=True, help="Simulator seed.")
@click.option(
    "--pipeline-runs",
    type=click.IntRange(min=1, max=9),
    default=1,
    show_default=True,
    help="Drain the one-worker pipeline this many times (a fresh app id each); the figures are the median run's, every run's rate is listed. A shared machine moves single runs by tens of percent.",
)
def bench_command(
    events: int,
    rates: str,
    latency_seconds: float,
    grace_seconds: float,
    skip_latency: bool,
    skip_scaleout: bool,
    skip_memory: bool,
    city_appeals_per_day: int,
    broker: str | None,
    output: str,
    profile_path: str | None,
    seed: int,
    pipeline_runs: int,
) -> None:
    """Throughput, latency, scale-out and memory of the pipeline, with baselines, in one run."""
    offered_rates = () if skip_latency else parse_rates(rates)
    console = Console(stderr=True)
    command = "hotline bench " + " ".join(sys.argv[1:])
    machine = {
        "cpu_count": os.cpu_count(),
        "shared_by": "the broker, the producers, this bench process and the workers (and any other work on the machine)",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": _load_average(),
    }
    previous_handler = signal.signal(signal.SIGTERM, _terminate_gracefully)
    work_dir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    throwaway = None if broker else ThrowawayBroker()
    results: dict = {"setup": {}, "baselines": {}, "pipeline": None, "scaleout": None, "offline": None, "latency": None, "memory": {}}
    errors: dict[str, str] = {}
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[detail]}"), console=console
    )
    bench = None
    started = time.monotonic()
    try:
        with progress:
            reporter = RichReporter(progress)
            if throwaway is not None:
                reporter.step("starting a throwaway Kafka broker")
                throwaway.start()
            bench = phases.Bench(
                bootstrap=broker or throwaway.bootstrap,
                work_dir=work_dir,
                run_id=f"bench-{uuid.uuid4().hex[:8]}",
                reporter=reporter,
            )
            if throwaway is not None:
                bench.broker_pid = throwaway.pid
                bench.broker_pid_missing_reason = f"kafka.sh wrote no broker.pid in {throwaway.data_dir}"
            latency_events = int(sum(rate * latency_seconds for rate in offered_rates) * 1.05) + 1000
            results["setup"] = phases.prepare(bench, events, latency_events, seed)

            def run(name: str, action):
                try:
                    return action()
                except KeyboardInterrupt:
                    raise
                except Exception as error:  # one failed phase must not lose the others' figures
                    errors[name] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                    (work_dir / f"{name}-error.txt").write_text(traceback.format_exc())
                    bench.stop_processes()
                    return None

            results["baselines"]["kafka_consumer"] = run("kafka_consumer", lambda: phases.kafka_consumer_baseline(bench))
            results["baselines"]["aiokafka_passthrough"] = run("aiokafka_passthrough", lambda: phases.aiokafka_passthrough(bench))
            results["baselines"]["faust_forward"] = run("faust_forward", lambda: phases.faust_forward_baseline(bench))
            one_worker_runs = []
            for number in range(1, pipeline_runs + 1):
                profile = Path(profile_path) if profile_path and number == 1 else None
                name = "pipeline_one_worker" if number == 1 else f"pipeline_one_worker_run{number}"
                outcome = run(name, lambda number=number, profile=profile: phases.full_pipeline(bench, 1, profile, run_number=number))
                if outcome is not None:
                    one_worker_runs.append(outcome)
            if one_worker_runs:
                results["pipeline"], drain = phases.median_run(one_worker_runs)
                if pipeline_runs > 1:
                    results["pipeline"]["runs"] = [phases.run_summary(figures) for figures, _ in one_worker_runs]
                results["memory"]["worker"] = phases.worker_memory(drain)
            if not skip_scaleout:
                two_workers = run("pipeline_two_workers", lambda: phases.full_pipeline(bench, 2))
                results["scaleout"] = None if two_workers is None else two_workers[0]
            results["offline"] = run("offline_chain", lambda: phases.pure_chain_offline(bench))
            if offered_rates:
                results["latency"] = []
                pool = bench.latency_pool
                for rate in offered_rates:
                    count = int(rate * latency_seconds)
                    batch, pool = pool[:count], pool[count:]
                    outcome = run(f"latency_{rate}", lambda: phases.latency_at_rate(bench, rate, latency_seconds, grace_seconds, batch))
                    if outcome is not None:
                        results["latency"].append(outcome)
            if not skip_memory:
                results["memory"]["orders_table"] = run("orders_table", lambda: phases.orders_table_memory(bench, seed, city_appeals_per_day))
                results["memory"]["dedupe_index"] = run("dedupe_index", lambda: phases.dedupe_index_memory(bench, seed))
            reporter.step("done")
    except KeyboardInterrupt:
        errors["interrupted"] = "the run was interrupted; figures so far are kept"
    finally:
        if bench is not None:
            bench.stop_processes()
            if bench.probe is not None:
                bench.probe.close()
        if throwaway is not None:
            throwaway.stop()
        signal.signal(signal.SIGTERM, previous_handler)
    machine["bench_seconds"] = round(time.monotonic() - started, 1)
    machine["load_average_at_end"] = _load_average()
    machine["work_dir"] = str(work_dir)
    document = report.build_report(
        machine,
        command,
        results["setup"],
        results["baselines"],
        results["pipeline"],
        results["scaleout"],
        results["latency"],
        results["memory"] or None,
        errors,
        offline=results["offline"],
    )
    Path(output).write_bytes(codec.encode(document) + b"\n")
    end_to_end = document["headline"]["end_to_end_events_per_second"]
    headline = "not measured" if end_to_end is None else f"{end_to_end:,.0f}"
    table = Table(title=f"hotline bench ({machine['cpu_count']} cores, shared; {machine['bench_seconds']:.0f} s): {headline} input events/s end to end, 1 worker")
    for column in ("section", "figure", "value"):
        table.add_column(column, overflow="fold")  # topic names are long; never cut a figure
    for row in report.table_rows(document):
        table.add_row(*row)
    Console().print(table)
    click.echo(f"results: {output}; logs: {work_dir}")
    if "interrupted" in errors:
        raise SystemExit(130)


def register(cli: click.Group) -> None:
    cli.add_command(bench_command)

"""`hotline demo`: the main job start to finish on a bundled sample.

Loads the office registry, starts a worker, replays the sample events, waits until the
worker has consumed every one, moves event time one second past the last event (as
`hotline clock advance` does), prints a summary from the worker's own /metrics and the
derived topics, and stops the worker. The broker is started by scripts/demo.sh.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import click
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from hotline.cli import kafka_clients
from hotline.cli.clock_commands import advance_after_drain, last_event_time
from hotline.cli.configuration import load_settings
from hotline.cli.draining import wait_until_drained
from hotline.contract import topics

console = Console(width=max(100, Console().width))
ROOT = Path(__file__).resolve().parents[3]
DEMO_EVENTS = ROOT / "data" / "samples" / "demo-events.jsonl"
# The bundled sample is simulated: its worker applies the simulator's profile (its city)
# in front of the shipped rules, unless HOTLINE_CONFIG_DIR says otherwise.
SIMULATOR_CONFIG_DIR = f"{ROOT / 'config' / 'simulator'}{os.pathsep}{ROOT / 'config'}"


def _scrape(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _total(samples: dict, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and all(dict(sample_labels).get(k) == v for k, v in labels.items())
    )


class DemoWorker:
    """A `hotline worker` child process whose log goes to a file."""

    def __init__(self, port: int, log_path: Path, config_dir: str | None):
        self.metrics_url = f"http://127.0.0.1:{port}/metrics"
        # The sample is history: a replay-mode worker, whatever the shell says, and the demo
        # ends it with a clock advance.
        env = dict(os.environ, HOTLINE_WEB_PORT=str(port), HOTLINE_DATA_DIR=tempfile.mkdtemp(prefix="hotline-demo-"), HOTLINE_TIME_MODE="replay")
        env.pop("HOTLINE_IDLE_ADVANCE_SECONDS", None)
        if config_dir:
            env["HOTLINE_CONFIG_DIR"] = config_dir
        self.log_path = log_path
        self._log = log_path.open("wb")
        hotline = Path(sys.executable).with_name("hotline")
        self.process = subprocess.Popen([str(hotline), "worker", "-l", "warn"], env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_for_web(self, timeout_seconds: float = 60) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise click.ClickException(f"the worker exited with {self.process.returncode}; see {self.log_path}")
            try:
                _scrape(self.metrics_url)
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        raise click.ClickException(f"the worker's {self.metrics_url} did not answer in {timeout_seconds}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


def _drain_and_advance(worker: DemoWorker, settings, events_file: Path, timeout_seconds: float) -> dict:
    """Until the worker has processed the whole sample, then event time moves one second
    past its last event (`hotline clock advance`) and the held items are released."""
    instant = last_event_time(str(events_file))
    if instant is None:
        wait_until_drained(settings, timeout_seconds, console)
    else:
        advance_after_drain(settings, instant + timedelta(seconds=1), timeout_seconds, console)
    return _scrape(worker.metrics_url)


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _pressure_summary(worker: DemoWorker, settings) -> None:
    """Top offices by pressure, why, and the alerts that fired and resolved."""
    base = worker.metrics_url.removesuffix("/metrics")
    table = Table(title="offices under the most pressure (24 h to each office's newest event)")
    for column in ("office", "pressure", "inflow raw/eff", "backlog", "overdue", "repeats", "ping-pong", "alerts firing"):
        table.add_column(column, justify="left" if column in ("office", "alerts firing") else "right")

    def ratio(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    for office in _get_json(base + "/offices/?top=8")["offices"]:
        snapshot = office["snapshot"]
        day = snapshot["windows"]["24h"]
        table.add_row(
            snapshot["office_id"],
            ratio(snapshot["pressure_ratio"]),
            f"{day['received']} / {day['effective_inflow']}",
            str(snapshot["backlog_orders"]),
            str(snapshot["overdue_orders"]),
            ratio(snapshot["repeat_ratio"]),
            ratio(snapshot["ping_pong_ratio"]),
            ", ".join(office["alerts_firing"]) or "-",
        )
    console.print(table)
    changes = {}
    consumer = kafka_clients.consumer(settings, auto_offset_reset="earliest", consumer_timeout_ms=2000)
    try:
        consumer.subscribe([topics.ALERTS.name])
        for record in consumer:
            change = json.loads(record.value)
            changes[change["event_id"]] = change
    finally:
        consumer.close()
    alerts = Table(title="alert changes on hotline.alerts.v1")
    for column in ("event time (UTC)", "alert", "office", "state", "value", "threshold"):
        alerts.add_column(column)
    for change in sorted(changes.values(), key=lambda c: (c["occurred_at"], c["alert"], c["office_id"] or "")):
        state = "firing" if change["type"] == "alert.firing" else "resolved"
        alerts.add_row(change["occurred_at"][:16].replace("T", " "), change["alert"], change["office_id"] or "-", state, f"{change['value']}", f"{change['threshold']}")
    console.print(alerts if changes else "no alert fired")


def _summary(samples: dict, sent: int, elapsed_seconds: float) -> None:
    table = Table(title="hotline demo: what the processor did", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    consumed = _total(samples, "hotline_messages_consumed_total", topic=topics.EVENTS.name)
    processed = _total(samples, "hotline_messages_processed_total", stage="screen")
    deadlettered = _total(samples, "hotline_messages_deadlettered_total")
    table.add_row("events sent to hotline.events.v1", f"{sent}")
    table.add_row("events consumed by the worker", f"{consumed:.0f}")
    table.add_row("screened onto hotline.screened.v1", f"{processed:.0f}")
    table.add_row("dead-lettered onto hotline.deadletter.v1", f"{deadlettered:.0f}")
    for spec in topics.ALL_TOPICS:
        produced = _total(samples, "hotline_messages_produced_total", topic=spec.name)
        if produced and spec not in (topics.SCREENED, topics.DEADLETTER):
            table.add_row(f"produced onto {spec.name}", f"{produced:.0f}")
    table.add_row("wall time (s)", f"{elapsed_seconds:.1f}")
    console.print(table)
    reasons = {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "hotline_messages_deadlettered_total" and value
    }
    if reasons:
        console.print("dead letters by reason: " + ", ".join(f"{r}={v:.0f}" for r, v in sorted(reasons.items())))
    if consumed != processed + deadlettered:
        raise click.ClickException(f"counters disagree: consumed {consumed} != processed {processed} + dead-lettered {deadlettered}")


def _count_events(events_file: Path) -> int:
    with events_file.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


@click.command("demo")
@click.option("--events", "events_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEMO_EVENTS, show_default=True)
@click.option("--offices", "offices_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=ROOT / "data" / "offices" / "demo-offices.jsonl", show_default=True)
@click.option("--web-port", type=click.IntRange(1, 65535), default=6066, show_default=True)
@click.option("--timeout", "timeout_seconds", type=click.FloatRange(min=1), default=600, show_default=True)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="replay at this many events per second (default: as fast as possible)")
@click.option("--keep-running", is_flag=True, help="leave the worker running at the end (stop it with Ctrl-C)")
def demo(events_file: Path, offices_file: Path, web_port: int, timeout_seconds: float, rate: float | None, keep_running: bool) -> None:
    """Run the processor on a sample, start to finish, and print what it found."""
    from hotline.cli.kafka_commands import offices_load, replay

    # Stopped from outside (make, CI): still stop the worker in the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    console.print(f"[bold]hotline demo[/bold]: {events_file.name} ({_count_events(events_file)} events), offices from {offices_file.name}")
    click.get_current_context().invoke(offices_load, file=str(offices_file))
    log_path = Path(tempfile.gettempdir()) / "hotline-demo-worker.log"
    simulated = events_file.resolve() == DEMO_EVENTS.resolve() and not os.environ.get("HOTLINE_CONFIG_DIR")
    worker = DemoWorker(web_port, log_path, SIMULATOR_CONFIG_DIR if simulated else None)
    try:
        worker.wait_for_web()
        console.print(f"worker up: metrics on {worker.metrics_url}, log in {log_path}")
        sent = _count_events(events_file)
        click.get_current_context().invoke(replay, file=str(events_file), rate=rate, speedup=None, topic=topics.EVENTS.name, quiet=False)
        samples = _drain_and_advance(worker, load_settings(), events_file, timeout_seconds)
        _summary(samples, sent, time.monotonic() - started)
        _pressure_summary(worker, load_settings())
        if keep_running:
            console.print(f"the worker keeps running: curl {worker.metrics_url}; Ctrl-C to stop")
            worker.process.wait()
    finally:
        worker.stop()


def register(cli: click.Group) -> None:
    cli.add_command(demo)

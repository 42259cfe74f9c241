"""`hotline clock advance`: move the processor's event time on after a replay.

The processor's clocks follow the events' own times, and stages that merge partitions
hold what a quiet partition could still precede (see docs/architecture.md, "Time").
A live worker (`hotline worker --live`) ticks idle partitions with the wall clock while its input is
current; a replay of history ends instead with this command: once the worker has drained what was replayed,
a tick to every partition says "event time is now T", so the last held items are
released and every deadline due before T fires — the same outputs as if the history had
gone on to T.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from rich.console import Console

from hotline.cli import kafka_clients
from hotline.cli.configuration import load_settings
from hotline.cli.draining import wait_until_drained
from hotline.contract import codec
from hotline.core.timeutil import format_utc, parse_rfc3339

err = Console(stderr=True)


def last_event_time(path: str) -> datetime | None:
    """The latest occurred_at in a JSON-lines file of events (lines that are not events are skipped)."""
    latest = None
    with open(path, "rb") as handle:
        for line in handle:
            try:
                instant = parse_rfc3339(codec.decode(line)["occurred_at"])
            except (ValueError, KeyError, TypeError):
                continue
            latest = instant if latest is None or instant > latest else latest
    return latest


def send_clock_ticks(settings, instant: datetime) -> str:
    """One tick per partition of the app's clock-ticks topic (as many as the broker says
    it has, else the deployment's count); returns the topic name."""
    topic = f"{settings.app_id}-clock-ticks"
    producer = kafka_clients.producer(settings)
    try:
        value = codec.encode({"now_seconds": instant.timestamp()})
        for partition in sorted(producer.partitions_for(topic) or range(settings.partitions)):
            producer.send(topic, key=b"tick", value=value, partition=partition)
        producer.flush()
    finally:
        producer.close()
    return topic


def advance_after_drain(settings, instant: datetime, timeout_seconds: float, console: Console = err) -> None:
    wait_until_drained(settings, timeout_seconds, console, label="draining")
    send_clock_ticks(settings, instant)
    wait_until_drained(settings, timeout_seconds, console, label="releasing")


@click.group("clock")
def clock_group() -> None:
    """The processor's event-time clock."""


@clock_group.command("advance")
@click.option("--to", "to_time", help="RFC 3339 instant, e.g. 2025-03-08T00:00:00Z")
@click.option("--to-end-of", "events_file", type=click.Path(exists=True, dir_okay=False), help="one second past the last event of this JSON-lines file")
@click.option("--wait/--no-wait", default=True, show_default=True, help="wait until the worker has drained before and after the tick")
@click.option("--timeout", "timeout_seconds", type=click.FloatRange(min=1), default=900, show_default=True)
def clock_advance(to_time: str | None, events_file: str | None, wait: bool, timeout_seconds: float) -> None:
    """Tell the worker's every partition that event time has reached an instant."""
    if (to_time is None) == (events_file is None):
        raise click.UsageError("give exactly one of --to and --to-end-of")
    if to_time is not None:
        try:
            instant = parse_rfc3339(to_time)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--to") from error
    else:
        latest = last_event_time(events_file)
        if latest is None:
            raise click.BadParameter(f"{events_file} holds no event with an occurred_at", param_hint="--to-end-of")
        instant = latest + timedelta(seconds=1)
    settings = load_settings()
    if wait:
        advance_after_drain(settings, instant, timeout_seconds)
    else:
        send_clock_ticks(settings, instant)
    click.echo(f"event time advanced to {format_utc(instant)} on every partition of app {settings.app_id}")


def register(cli: click.Group) -> None:
    cli.add_command(clock_group)

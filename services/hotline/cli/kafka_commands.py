"""Commands that talk to the broker (topics, offices, replay, tail), and the topics' AsyncAPI document."""

from __future__ import annotations

import base64
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, Iterator

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from hotline.config import ConfigError
from hotline.contract import codec, schemas, topics
from hotline.cli import kafka_clients
from hotline.cli.configuration import load_settings
from hotline.cli.pacing import ReplayPacer
from hotline.core.timeutil import parse_rfc3339

err = Console(stderr=True)


@click.group("topics")
def topics_group() -> None:
    """Manage the project's Kafka topics."""


@topics_group.command("create")
@click.option(
    "--replication-factor",
    type=click.IntRange(1, 32),
    default=None,
    help="Copies of every partition (default: HOTLINE_REPLICATION_FACTOR, else 3 on a cluster of 3 brokers or more, 1 on one broker).",
)
@click.option(
    "--min-insync-replicas",
    type=click.IntRange(1, 32),
    default=None,
    help="Copies a write must reach before it is acknowledged (default: HOTLINE_MIN_INSYNC_REPLICAS, else the replication factor less one, at least 1).",
)
@click.option(
    "--partitions",
    type=click.IntRange(1, 1024),
    default=None,
    help="Partitions of every stage topic (default: HOTLINE_PARTITIONS, else 4); the most workers one app can spread over.",
)
def topics_create(replication_factor: int | None, min_insync_replicas: int | None, partitions: int | None) -> None:
    """Create every topic of the contract, and the app's internal stage-to-stage topics,
    with their partition counts, replication and configs. A topic that exists with another
    partition count is reported and the command exits 1: partitions cannot be taken back,
    and every worker must run with the count its topics have. Topics that exist keep
    their replication (Kafka's partition reassignment changes it)."""
    settings = load_settings()
    overrides = {"replication_factor": replication_factor, "min_insync_replicas": min_insync_replicas}
    settings = replace(settings, **{name: value for name, value in overrides.items() if value is not None})
    partitions = partitions or settings.partitions
    try:
        replication = kafka_clients.replication(settings)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    specs = kafka_clients.replicated(topics.deployment_topics(settings.app_id, partitions), replication)
    err.print(f"topics with {replication.describe()}")
    by_name = {spec.name: spec for spec in specs}
    for name, outcome in kafka_clients.create_topics(settings, specs):
        spec = by_name[name]
        click.echo(f"{name:34} {outcome:8} partitions={spec.partitions} replicas={spec.replication_factor} {spec.kafka_configs()}")
    mismatches = topics.partition_mismatches(specs, kafka_clients.partition_counts(settings, list(by_name)))
    if mismatches:
        raise click.ClickException("; ".join(mismatches))


@topics_group.command("list")
def topics_list() -> None:
    """Print the contract's topics and what they carry, with the deployment's partition counts."""
    partitions = load_settings().partitions
    for spec in topics.ALL_TOPICS:
        click.echo(f"{spec.name:28} key={spec.key:14} partitions={spec.with_partitions(partitions).partitions}  {spec.description}")


DEFAULT_ASYNCAPI_PATH = Path("docs/asyncapi.yaml")
ASYNCAPI_HEADER = "# Generated from hotline.contract by `hotline topics asyncapi`; do not edit by hand.\n"


def render_asyncapi(out: Path) -> str:
    """The AsyncAPI document as YAML, its schema $refs relative to `out`'s folder."""
    import os

    import yaml

    from hotline import __version__
    from hotline.contract import asyncapi

    schemas_dir = schemas.schemas_dir().resolve()
    schemas_ref_dir = Path(os.path.relpath(schemas_dir, out.resolve().parent)).as_posix()
    document = asyncapi.build_document(__version__, schemas_ref_dir, asyncapi.load_examples(schemas_dir))
    return ASYNCAPI_HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


@topics_group.command("asyncapi")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_ASYNCAPI_PATH,
    show_default=True,
    help="where to write the document; its schema $refs are relative to this file",
)
def topics_asyncapi(out: Path) -> None:
    """Write the AsyncAPI 3.0 document of the public topics (YAML)."""
    out.write_text(render_asyncapi(out), encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


@click.group("offices")
def offices_group() -> None:
    """Reference data: the office registry."""


def _read_records(path: str) -> Iterator[tuple[int, object]]:
    """(line number, decoded JSON) for a JSON-lines file, or for each item of a JSON array."""
    stream: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")
    with stream:
        content = stream.read()
    if content.lstrip().startswith(b"["):
        for index, item in enumerate(codec.decode(content), start=1):
            yield index, item
        return
    for number, line in enumerate(content.splitlines(), start=1):
        if line.strip():
            try:
                yield number, codec.decode(line)
            except ValueError as error:
                raise click.ClickException(f"{path}:{number}: not JSON: {error}") from None


@offices_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def offices_load(file: str) -> None:
    """Validate FILE (JSON lines or a JSON array) and put each office on hotline.offices.v1."""
    validator = schemas.topic_validator(topics.OFFICES.name)
    offices = []
    for number, office in _read_records(file):
        violation = validator.validate(office)
        if violation is not None:
            raise click.ClickException(f"{file}:{number}: {violation.detail} ({violation.reason})")
        offices.append(office)
    producer = kafka_clients.producer(load_settings())
    for office in offices:
        producer.send(topics.OFFICES.name, key=office["office_id"].encode(), value=codec.encode(office))
    producer.flush()
    producer.close()
    click.echo(f"loaded {len(offices)} offices onto {topics.OFFICES.name}")


def _event_lines(file: str) -> Iterator[bytes]:
    stream: IO[bytes] = sys.stdin.buffer if file == "-" else open(file, "rb")
    with stream:
        for line in stream:
            line = line.rstrip(b"\r\n")
            if line:
                yield line


def _key_and_event_time(line: bytes) -> tuple[bytes | None, float | None]:
    """The partitioning key and event time of a line. A line that is no event with an
    order_id is sent unkeyed, so the processor dead-letters it with its reason rather
    than it vanishing here."""
    try:
        event = codec.decode(line)
        order_id = event["order_id"]
    except (ValueError, KeyError, TypeError):
        return None, None
    try:
        event_seconds = parse_rfc3339(event["occurred_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        event_seconds = None
    return (order_id.encode() if isinstance(order_id, str) else None), event_seconds


@click.command("replay")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--rate", "rate", type=click.FloatRange(min=0, min_open=True), help="events per second (default: as fast as possible)")
@click.option("--speedup", type=click.FloatRange(min=0, min_open=True), help="follow the events' own times, this many times faster")
@click.option("--topic", default=topics.EVENTS.name, show_default=True)
@click.option("--quiet", is_flag=True, help="no progress bar, only the final count")
def replay(file: str, rate: float | None, speedup: float | None, topic: str, quiet: bool) -> None:
    """Produce the events of FILE (JSON lines, or - for stdin) keyed by order_id.

    As fast as possible by default; --rate N sends N events per second; --speedup X
    replays the events' own timing X times faster.
    """
    if file != "-" and not Path(file).is_file():
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
    if rate is not None and speedup is not None:
        raise click.UsageError("--rate and --speedup exclude each other")
    pacer = ReplayPacer(rate=rate, speedup=speedup)
    total = None if file == "-" else sum(1 for _ in _event_lines(file))
    producer = kafka_clients.producer(load_settings())
    failures: list[Exception] = []
    sent = 0
    unkeyed = 0
    started = time.monotonic()
    progress = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} events/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
    )
    with progress:
        task = progress.add_task("replay", total=total, rate=0.0)
        for line in _event_lines(file):
            key, event_seconds = _key_and_event_time(line)
            unkeyed += key is None
            future = producer.send(topic, key=key, value=line)
            future.add_errback(failures.append)
            sent += 1
            wait_seconds = pacer.wait_seconds(sent, time.monotonic() - started, event_seconds)
            if wait_seconds > 0:
                time.sleep(wait_seconds)
                elapsed = time.monotonic() - started
                progress.update(task, completed=sent, rate=sent / elapsed if elapsed else 0.0)
            if sent % 1000 == 0:
                elapsed = time.monotonic() - started
                progress.update(task, completed=sent, rate=sent / elapsed if elapsed else 0.0)
        producer.flush()
        elapsed = time.monotonic() - started
        progress.update(task, completed=sent, rate=sent / elapsed if elapsed else 0.0)
    producer.close()
    if failures:
        raise click.ClickException(f"the broker rejected {len(failures)} of {sent} events; first error: {failures[0]}")
    if unkeyed:
        err.print(f"warning: {unkeyed} lines had no order_id and were sent without a key")
    click.echo(f"replayed {sent} events onto {topic} in {elapsed:.1f}s ({sent / elapsed if elapsed else 0:.0f} events/s)")


def _render(record, with_metadata: bool) -> bytes:
    try:
        value = codec.decode(record.value) if record.value is not None else None
    except ValueError:
        value = {"value_base64": base64.b64encode(record.value).decode("ascii")}
    if not with_metadata:
        return codec.encode(value)
    return codec.encode(
        {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", "replace") if record.key is not None else None,
            "value": value,
        }
    )


@click.command("tail")
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="start at the oldest message instead of the newest")
@click.option("--max-messages", type=click.IntRange(min=1), help="exit after this many messages")
@click.option("--timeout-ms", type=click.IntRange(min=1), help="exit when no message arrives for this long")
@click.option("--with-metadata", is_flag=True, help="wrap each value with topic, partition, offset and key")
def tail(topic: str, from_beginning: bool, max_messages: int | None, timeout_ms: int | None, with_metadata: bool) -> None:
    """Print the messages of TOPIC as JSON lines (like kafka-console-consumer)."""
    consumer = kafka_clients.consumer(
        load_settings(),
        auto_offset_reset="earliest" if from_beginning else "latest",
        consumer_timeout_ms=timeout_ms or float("inf"),
    )
    if topic not in consumer.topics():
        raise click.ClickException(f"topic {topic} does not exist on the broker")
    consumer.subscribe([topic])
    out = sys.stdout.buffer
    count = 0
    try:
        for record in consumer:
            out.write(_render(record, with_metadata) + b"\n")
            out.flush()
            count += 1
            if max_messages is not None and count >= max_messages:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


def register(cli: click.Group) -> None:
    cli.add_command(topics_group)
    cli.add_command(offices_group)
    cli.add_command(replay)
    cli.add_command(tail)

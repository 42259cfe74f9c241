"""Waiting until a worker's consumer group has drained: every message on the input topic
and on every topic one stage feeds the next is committed."""

from __future__ import annotations

import time

import click
from kafka import TopicPartition
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotline.cli import kafka_clients
from hotline.contract import topics


def consumed_topics(app_id: str) -> list[str]:
    """Every topic a worker of `app_id` consumes."""
    names = [topics.EVENTS.name, topics.CASES.name]
    return names + [spec.name for spec in topics.internal_topics(app_id)]


def group_lag(settings, group: str, topic_names: list[str]) -> int | None:
    """Messages on `topic_names` that consumer group `group` has not committed yet, or
    None while the broker cannot tell (its group coordinator is still starting)."""
    try:
        return _committed_lag(settings, group, topic_names)
    except KafkaError as error:
        if not getattr(error, "retriable", False):
            raise
        return None


def _committed_lag(settings, group: str, topic_names: list[str]) -> int:
    consumer = kafka_clients.consumer(settings)
    admin = kafka_clients.admin(settings)
    try:
        partitions = [TopicPartition(t, p) for t in topic_names for p in consumer.partitions_for_topic(t) or ()]
        end = consumer.end_offsets(partitions)
        committed = admin.list_group_offsets(group).get(group, {})
        return sum(offset - (committed[tp].offset if tp in committed else 0) for tp, offset in end.items())
    finally:
        consumer.close()
        admin.close()


def wait_until_drained(settings, timeout_seconds: float, console: Console, label: str = "processing") -> None:
    """Block, with a progress bar, until the app's group has no lag left (three checks in
    a row: stages feed each other, so a moment at 0 is not yet the end)."""
    names = consumed_topics(settings.app_id)
    backlog = 0
    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
    deadline = time.monotonic() + timeout_seconds
    quiet_checks = 0
    with progress:
        task = progress.add_task("drain", total=backlog)
        while quiet_checks < 3:
            if time.monotonic() > deadline:
                raise click.ClickException(f"the pipeline had not drained after {timeout_seconds}s")
            lag = group_lag(settings, settings.app_id, names)
            if lag is not None:
                backlog = max(backlog, lag)
                progress.update(task, total=backlog, completed=backlog - lag)
            quiet_checks = quiet_checks + 1 if lag == 0 else 0
            time.sleep(1.0)

"""`hotline`: the worker and the tools around it.

  hotline worker [--live] [FAUST OPTIONS]  run a Faust worker (all agents, /metrics)
  hotline topics create                   create the project's topics on the broker
  hotline topics asyncapi                 write the AsyncAPI document of the public topics
  hotline offices load FILE               put the office registry on hotline.offices.v1
  hotline replay FILE|-                   produce events onto hotline.events.v1
  hotline tail TOPIC                      print a topic's messages as JSON lines
  hotline report --events E --offices O --period P   official vs adjusted office rates
"""

from __future__ import annotations

import gc
import logging
import os
import sys

import click
from kafka.errors import KafkaError

from hotline.cli.configuration import check_rules, load_settings
from hotline.config import ConfigError, Settings
from hotline.configfiles import config_file
from hotline.contract import topics
from hotline.core.screen_rules import ScreeningRules
from hotline.rules import JURISDICTION_FILE, Rules
from hotline.stream import bootstrap

log = logging.getLogger(__name__)
LIVE_FLAG = "--live"
EVENT_LOOP_VARIABLE = "FAUST_LOOP"
DEFAULT_EVENT_LOOP = "uvloop"
EVENT_LOOPS = ("uvloop", "aio")
# Allocations between two youngest-generation collections (CPython's default: 700).
WORKER_GC_THRESHOLDS = (10_000, 10, 10)


def log_rules(rules: Rules) -> None:
    """Say at start-up which rule files the worker read."""
    click.echo(f"hotline worker: rules read once: {rules.describe()}", err=True)


def log_jurisdiction(screening: ScreeningRules) -> None:
    """Say at start-up which city the worker judges appeals against, or that it judges none."""
    jurisdiction = screening.jurisdiction
    if jurisdiction is None:
        where = config_file(JURISDICTION_FILE)
        click.echo(f"hotline worker: no jurisdiction configured ({where}): outside_jurisdiction is not judged", err=True)
    else:
        click.echo(f"hotline worker: jurisdiction {jurisdiction.describe()}", err=True)


def log_time_mode(settings: Settings) -> None:
    """Say at start-up whether quiet partitions follow the wall clock (live) or wait for events (replay)."""
    if settings.live:
        click.echo(
            f"hotline worker: live mode: idle partitions follow the wall clock less {settings.idle_advance_seconds} s "
            "once current input is read, and wait while the input is historic",
            err=True,
        )
    else:
        click.echo("hotline worker: replay mode: event time moves with the events alone; end a replay with `hotline clock advance`", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hotline")
def cli() -> None:
    """Real-time stream processor for city service hotlines (12345 / 311)."""


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.argument("faust_args", nargs=-1, type=click.UNPROCESSED)
def worker(faust_args: tuple[str, ...]) -> None:
    """Run a worker; `--live` for a live source, other options are Faust's own (`hotline worker --help`)."""
    faust_args = _take_live_flag(faust_args)
    # The agents take the same objects from hotline.stream.bootstrap: read once, checked here.
    settings = load_settings(bootstrap.settings)
    rules = check_rules(bootstrap.rules)
    log_rules(rules)
    log_jurisdiction(rules.screening)
    log_time_mode(settings)
    use_event_loop()
    from hotline.stream.worker import app

    tune_garbage_collector()
    if not {"-h", "--help"} & set(faust_args):
        _create_app_topics(settings)
    sys.argv = ["hotline", "worker", *faust_args]
    app.main()


def use_event_loop() -> str:
    """uvloop, unless FAUST_LOOP names asyncio's own (`aio`).

    A worker spends about a fifth of its CPU in the event loop itself (scheduling the
    agents' and the Kafka clients' callbacks, socket writes); uvloop runs that in C. Faust
    reads FAUST_LOOP when it is first imported, which the CLI has done by now, so the
    policy is set here, before the worker creates its loop."""
    import mode.loop

    name = os.environ.get(EVENT_LOOP_VARIABLE) or DEFAULT_EVENT_LOOP
    if name not in EVENT_LOOPS:
        raise click.UsageError(f"environment variable {EVENT_LOOP_VARIABLE}={name}: expected one of {', '.join(EVENT_LOOPS)}")
    mode.loop.use(name)
    click.echo(f"hotline worker: event loop {name} ({EVENT_LOOP_VARIABLE})", err=True)
    return name


def tune_garbage_collector() -> None:
    """Freeze what start-up built and collect the young generation less often.

    A worker's heap is mostly long-lived and free of cycles: modules, rules, the tables'
    values. With CPython's defaults every full collection walked all of it again, and
    the collector took about 8 % of a draining worker's CPU; with the start-up objects
    frozen and a larger first threshold it takes about 3 %. Garbage without cycles is
    freed by reference counting whatever the thresholds; `python_gc_*` on /metrics shows
    the collections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


def _take_live_flag(faust_args: tuple[str, ...]) -> tuple[str, ...]:
    """`--live` is ours, not Faust's: it sets HOTLINE_TIME_MODE=live for the whole worker
    (the app reads its settings from the environment) and is taken off Faust's options."""
    if LIVE_FLAG not in faust_args:
        return faust_args
    mode = os.environ.get("HOTLINE_TIME_MODE")
    if mode and mode != "live":
        raise click.UsageError(f"{LIVE_FLAG} contradicts environment variable HOTLINE_TIME_MODE={mode}")
    os.environ["HOTLINE_TIME_MODE"] = "live"
    return tuple(arg for arg in faust_args if arg != LIVE_FLAG)


def _create_app_topics(settings: Settings) -> None:
    """Create every topic the worker reads or writes before it joins its group, and stop
    if existing topics have another partition count than HOTLINE_PARTITIONS.

    Faust creates its tables' changelog topics itself, just before the consumer joins; on
    a loaded broker the join could see a brand-new changelog with no partitions yet, and
    until the next metadata refresh (minutes) every table write failed with
    PartitionsMismatch. Created and described beforehand, they are there from the start.
    A worker whose count differs from its topics' would compute clocks and merges for
    partitions that do not exist, or miss some: it must not start.
    """
    from hotline.cli import kafka_clients
    from hotline.stream.app import app, changelog_topic_specs

    # Faust's own topic, which elects the group's leader worker.
    assignor_leader = topics.TopicSpec(f"{settings.app_id}-__assignor-__leader", key="none", description="internal: Faust's assignor leader", partitions=1)
    specs = topics.deployment_topics(settings.app_id, settings.partitions) + changelog_topic_specs() + (assignor_leader,)
    try:
        replication = kafka_clients.replication(settings)
        specs = kafka_clients.replicated(specs, replication)
        # Topics Faust declares itself (its assignor's) get the same number of copies.
        app.conf.topic_replication_factor = replication.factor
        click.echo(f"hotline worker: topics with {replication.describe()}", err=True)
        kafka_clients.create_topics(settings, specs, wait_seconds=60)
        mismatches = topics.partition_mismatches(specs, kafka_clients.partition_counts(settings, [spec.name for spec in specs]))
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    except KafkaError as error:
        # No broker yet: Faust waits for it and creates the topics itself, with
        # HOTLINE_REPLICATION_FACTOR copies (1 when it is unset).
        log.warning("could not create the app's topics before start-up (%s); Faust creates them once the broker answers", error)
        return
    if mismatches:
        raise click.ClickException(f"HOTLINE_PARTITIONS={settings.partitions} does not match the topics: " + "; ".join(mismatches))


from hotline.cli import (  # noqa: E402
    bench_commands,
    clock_commands,
    demo_commands,
    evaluate_commands,
    import_commands,
    kafka_commands,
    report_commands,
    simulate_commands,
)

# Each module adds its subcommands to `cli`.
for module in (kafka_commands, clock_commands, simulate_commands, import_commands, evaluate_commands, demo_commands, bench_commands, report_commands):
    module.register(cli)

if __name__ == "__main__":
    cli()

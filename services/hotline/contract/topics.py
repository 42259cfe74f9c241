"""Topic names, partition counts and configs: the one place they are defined.

The broker scripts, the Faust app and the tests all read this table, so a topic is
created once with the settings the processor expects (Faust would otherwise auto-create
topics with its own partition count).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# Partitions of a stage topic unless the deployment names another count (HOTLINE_PARTITIONS).
DEFAULT_PARTITIONS = 4


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    description: str
    compacted: bool = False
    partitions: int = DEFAULT_PARTITIONS
    configs: dict[str, str] = field(default_factory=dict)
    replication_factor: int = 1
    # The topic's min.insync.replicas; None leaves the broker's default.
    min_insync_replicas: int | None = None
    # Reference data every worker reads whole keeps its count whatever the deployment's.
    fixed_partitions: bool = False

    def with_partitions(self, partitions: int) -> "TopicSpec":
        return self if self.fixed_partitions else replace(self, partitions=partitions)

    def with_replication(self, replication_factor: int, min_insync_replicas: int | None = None) -> "TopicSpec":
        return replace(self, replication_factor=replication_factor, min_insync_replicas=min_insync_replicas)

    def kafka_configs(self) -> dict[str, str]:
        configs = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(self.min_insync_replicas)
        configs.update(self.configs)
        return configs


EVENTS = TopicSpec(
    "hotline.events.v1",
    key="order_id",
    description="appeal and work-order events from source systems: the source of truth",
    configs={"retention.ms": "-1"},  # replaying history needs the whole log
)
OFFICES = TopicSpec(
    "hotline.offices.v1",
    key="office_id",
    description="office registry: name, level, parent, daily capacity",
    compacted=True,
    partitions=1,  # small reference data; every worker reads all of it
    fixed_partitions=True,
)
SCREENED = TopicSpec(
    "hotline.screened.v1",
    key="order_id",
    description="input events validated, normalised, pseudonymised and redacted, with a verdict",
)
DEADLETTER = TopicSpec(
    "hotline.deadletter.v1",
    key="source topic/partition/offset",
    description="messages that could not be processed: original bytes, source position, stage, reason",
    # The original bytes may hold personal data: keep them for two weeks only.
    configs={"retention.ms": str(14 * 24 * 3600 * 1000)},
)

CASES = TopicSpec(
    "hotline.cases.v1",
    key="order_id",
    # Keyed by the linked order, not the case, so links reach the partition of the
    # order's own state (the orders stage counts repeats and escalates them).
    description="case links: an appeal opens a case or repeats one, with relation, similarity and earlier orders",
)
DEADLINES = TopicSpec(
    "hotline.deadlines.v1",
    key="order_id",
    description="deadline clocks: warnings, breaches and met targets (sign-for, first response, resolution)",
)
ESCALATIONS = TopicSpec(
    "hotline.escalations.v1",
    key="order_id",
    description="escalations of supervision up the ladder (from level -> to level, reason), damped",
)
PRESSURE = TopicSpec(
    "hotline.pressure.v1",
    key="office_id",
    description="periodic office pressure snapshots (inflow, backlog, overdue, ratios)",
)
ALERTS = TopicSpec(
    "hotline.alerts.v1",
    key="alert/office_id",
    description="alert state changes: firing / resolved, with value and threshold",
)
OFFICE_RATES = TopicSpec(
    "hotline.office-rates.v1",
    key="office_id|period",
    # The latest figures of each office and period are what a subscriber wants.
    description="official and adjusted assessment rates, scores and ranks per office and day / week / month",
    compacted=True,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    EVENTS,
    OFFICES,
    SCREENED,
    CASES,
    DEADLINES,
    ESCALATIONS,
    PRESSURE,
    ALERTS,
    OFFICE_RATES,
    DEADLETTER,
)

# The topics the processor reads from outside; it writes every other topic of ALL_TOPICS.
INPUT_TOPICS: tuple[TopicSpec, ...] = (EVENTS, OFFICES)


# Stage-to-stage topics of one Faust app, named "<app id>-<suffix>" like Faust's own
# internal topics; each re-keys messages so the next stage's state is co-partitioned.
INTERNAL_TOPIC_SUFFIXES: tuple[str, ...] = (
    "appeals-by-caller",
    "appeals-by-place",
    "office-facts",
    "escalation-proposals",
    "clock-ticks",
    "order-rates",
    "screened-by-order",
)


def internal_topics(app_id: str, partitions: int = DEFAULT_PARTITIONS) -> tuple[TopicSpec, ...]:
    return tuple(
        TopicSpec(f"{app_id}-{suffix}", key="stage key", description=f"internal: {suffix} of app {app_id}", partitions=partitions)
        for suffix in INTERNAL_TOPIC_SUFFIXES
    )


def deployment_topics(app_id: str, partitions: int = DEFAULT_PARTITIONS) -> tuple[TopicSpec, ...]:
    """Every topic of the contract and the app's stage-to-stage topics, each stage topic
    with the deployment's partition count: stages that share a key must be co-partitioned,
    so one count serves them all."""
    return tuple(spec.with_partitions(partitions) for spec in ALL_TOPICS) + internal_topics(app_id, partitions)


def partition_mismatches(specs: tuple[TopicSpec, ...], counts: dict[str, int]) -> list[str]:
    """What differs between the partition counts the broker reports (`counts`, by topic
    name; topics it does not have are left out) and the counts the specs expect."""
    return [
        f"{spec.name} has {counts[spec.name]} partitions, the deployment expects {spec.partitions}"
        for spec in specs
        if spec.name in counts and counts[spec.name] != spec.partitions
    ]


def by_name(name: str) -> TopicSpec:
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in ALL_TOPICS)
    raise KeyError(f"unknown topic {name!r}; known topics: {known}")

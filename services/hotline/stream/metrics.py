"""Prometheus metrics of a worker (prefix hotline_, base units, bounded labels).

Counters prove that nothing is lost: for every stage,
  consumed == processed + deadlettered.
"""

from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics

from hotline.contract import topics

# The *_created series double every counter and mean nothing to a dashboard.
disable_created_metrics()

MESSAGES_CONSUMED = Counter(
    "hotline_messages_consumed_total",
    "Messages consumed from a topic by the processor.",
    ["topic"],
)
MESSAGES_PROCESSED = Counter(
    "hotline_messages_processed_total",
    "Messages a stage processed successfully.",
    ["stage"],
)
MESSAGES_DEADLETTERED = Counter(
    "hotline_messages_deadlettered_total",
    "Messages a stage could not process and sent to hotline.deadletter.v1, by reason.",
    ["stage", "reason"],
)
MESSAGES_PRODUCED = Counter(
    "hotline_messages_produced_total",
    "Messages the processor produced to a derived topic.",
    ["topic"],
)
DUPLICATE_EVENTS = Counter(
    "hotline_duplicate_events_total",
    "Re-sent input events (an event_id already applied) recognised and not counted again.",
    ["stage"],
)
DEADLINE_EVENTS = Counter(
    "hotline_deadline_events_total",
    "Deadline warnings, breaches, met and cancelled clocks, by target and office level.",
    ["type", "target", "level"],
)
ESCALATIONS = Counter(
    "hotline_escalations_total",
    "Escalations raised, by reason and the level escalated to.",
    ["reason", "level"],
)
ESCALATIONS_HELD_BACK = Counter(
    "hotline_escalations_held_back_total",
    "Escalations over a receiving office's daily budget, grouped into a summary.",
    ["level"],
)
ESCALATIONS_DAMPED = Counter(
    "hotline_escalations_damped_total",
    "Escalation triggers the per-order rules held back, by reason and damping rule.",
    ["reason", "damping"],
)
APPEALS_SCREENED = Counter(
    "hotline_appeals_screened_total",
    "Appeals given their final verdict (the screening rules and the caller's history).",
    ["verdict"],
)
APPEALS_FLAGGED = Counter(
    "hotline_appeals_flagged_total",
    "Reasons given for flagging or rejecting appeals (an appeal can have several).",
    ["verdict", "reason"],
)
REPEATS = Counter(
    "hotline_repeats_total",
    "Appeals linked to an earlier case, by relation.",
    ["relation"],
)
DEDUPE_INDEX_ENTRIES = Gauge(
    "hotline_dedupe_index_entries",
    "Appeals held in this worker's near-duplicate index (bounded by the time window).",
)
EVENT_TIME_WATERMARK = Gauge(
    "hotline_event_time_watermark_seconds",
    "Highest event time (occurred_at) seen by this worker, as a Unix timestamp.",
    ["stage"],
)
TABLE_WRITES = Counter(
    "hotline_table_writes_total",
    "Writes to a stage's table, by outcome: changelog_record (sent when an offset commit starts, "
    "one per changed key) or coalesced (replaced by a later write to the same key before that).",
    ["table", "outcome"],
)
OFFSET_COMMIT_DURATION = Histogram(
    "hotline_offset_commit_duration_seconds",
    "From an offset commit's start (its offsets picked, the tables' records taken) to the "
    "offsets committed: the stages' sends and changelog records it waits for. A worker "
    "killed right after a commit repeats what the stages did meanwhile.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MERGE_PENDING = Gauge(
    "hotline_merge_pending_items",
    "Items a stage holds until every upstream partition's clock has passed them (event-time order).",
    ["stage"],
)
ORDERS_FORGOTTEN = Counter(
    "hotline_orders_forgotten_total",
    "Finished orders dropped from the orders table HOTLINE_CLOSED_ORDER_RETENTION_DAYS after their last event.",
)
CALLERS_FORGOTTEN = Counter(
    "hotline_callers_forgotten_total",
    "Callers dropped from the callers table once their newest appeal left the frequent-caller window.",
)
ORDERS_WAITING_FOR_LINK = Gauge(
    "hotline_orders_waiting_for_case_link",
    "Orders whose appeal waits for the dedupe stage's case link before anything else happens to them.",
)
WORKER = Info(
    "hotline_worker",
    "How this worker keeps time: time_mode live (idle partitions follow the wall clock less idle_advance_seconds) or replay.",
)
IDLE_TICKS_WITHHELD = Counter(
    "hotline_idle_ticks_withheld_total",
    "Wall-clock ticks a live worker did not send to an idle partition, by reason "
    "(historic_input: the newest input was read more than a day behind the wall clock; awaiting_input: none read yet).",
    ["reason"],
)
# The live assessment (hotline.stream.agents.rates): the current day, week and month
# only (label period = the kind), so the series stay one set per office.
OFFICE_ASSESSMENT_RATE = Gauge(
    "hotline_office_assessment_rate_ratio",
    "Assessment rate of an office in the current period (rate: response, resolution, satisfaction), "
    "official or adjusted (view); absent while it has no denominator.",
    ["office", "level", "period", "view", "rate"],
)
OFFICE_ASSESSMENT_SCORE = Gauge(
    "hotline_office_assessment_score",
    "Composite assessment score (weighted rates, 0-1) of an office in the current period, official or adjusted.",
    ["office", "level", "period", "view"],
)
OFFICE_ASSESSMENT_RANK = Gauge(
    "hotline_office_assessment_rank",
    "Rank of an office among the offices of its level in the current period (1 = best), official or adjusted.",
    ["office", "level", "period", "view"],
)
OFFICE_ASSESSMENT_RANK_SHIFT = Gauge(
    "hotline_office_assessment_rank_shift",
    "Adjusted rank - official rank of an office in the current period: positive when the official rank flatters it.",
    ["office", "level", "period"],
)

STAGES = ("screen", "callers", "dedupe", "orders", "escalate", "pressure")
# Reasons the screen stage can give; pre-initialised so every series exists at 0.
SCREEN_REASONS = (
    "empty_message",
    "too_large",
    "invalid_encoding",
    "invalid_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "unexpected_field",
    "unknown_type",
    "unsupported_schema_version",
    "invalid_value",
    "occurred_in_future",
    "internal_error",
)
DEADLINE_TYPES = ("deadline.warning", "deadline.breached", "deadline.met", "deadline.cancelled")
DEADLINE_TARGETS = ("sign_for", "first_response", "resolution")
OFFICE_LEVELS = ("community", "street", "district", "department", "city")
VERDICTS = ("accepted", "flagged", "rejected")
REPEAT_RELATIONS = ("exact_resubmission", "same_caller_same_issue", "other_caller_same_issue", "standing_case")
TICK_WITHHELD_REASONS = ("historic_input", "awaiting_input")


def children_kept(metric):
    """`metric.labels`, each child remembered by its label values. prometheus_client checks
    the values and takes a lock on every call: about 2 % of a worker's CPU when counted
    per message. Only for metrics whose children are never removed."""
    return functools.lru_cache(maxsize=None)(metric.labels)


# The children counted on every message.
consumed = children_kept(MESSAGES_CONSUMED)
processed = children_kept(MESSAGES_PROCESSED)
produced = children_kept(MESSAGES_PRODUCED)
deadline_events = children_kept(DEADLINE_EVENTS)
_event_time_watermark = children_kept(EVENT_TIME_WATERMARK)
merge_pending = children_kept(MERGE_PENDING)

_watermarks: dict[str, float] = {}


def observe_event_time(stage: str, occurred_at_seconds: float) -> None:
    """Keep the gauge at the highest event time seen; late events do not move it back."""
    if occurred_at_seconds > _watermarks.get(stage, float("-inf")):
        _watermarks[stage] = occurred_at_seconds
        _event_time_watermark(stage=stage).set(occurred_at_seconds)


def describe_worker(time_mode: str, idle_advance_seconds: int) -> None:
    WORKER.info({"time_mode": time_mode, "idle_advance_seconds": str(idle_advance_seconds)})


def initialise() -> None:
    for spec in topics.ALL_TOPICS:
        MESSAGES_CONSUMED.labels(topic=spec.name)
        MESSAGES_PRODUCED.labels(topic=spec.name)
    for stage in STAGES:
        MESSAGES_PROCESSED.labels(stage=stage)
        EVENT_TIME_WATERMARK.labels(stage=stage)
    for stage in ("callers", "dedupe", "escalate", "pressure"):
        MERGE_PENDING.labels(stage=stage)
    for reason in SCREEN_REASONS:
        MESSAGES_DEADLETTERED.labels(stage="screen", reason=reason)
    for stage in STAGES:
        DUPLICATE_EVENTS.labels(stage=stage)
    for verdict in VERDICTS:
        APPEALS_SCREENED.labels(verdict=verdict)
    for relation in REPEAT_RELATIONS:
        REPEATS.labels(relation=relation)
    for reason in TICK_WITHHELD_REASONS:
        IDLE_TICKS_WITHHELD.labels(reason=reason)
    for event_type in DEADLINE_TYPES:
        for target in DEADLINE_TARGETS:
            for level in OFFICE_LEVELS:
                DEADLINE_EVENTS.labels(type=event_type, target=target, level=level)

"""Escalate agent: escalation proposals keyed by receiving office -> hotline.escalations.v1.

Each receiving office has a daily budget (config/escalation.toml): proposals within it
are raised at once; the rest are held back and summarised in one event when the day ends
in event time, so supervision does not itself become overload.

Which proposals fit in a budget depends on their order, and they come from every orders
partition at once, so each partition admits them in event-time order: an ordered merge
(hotline.stream.clocks) holds them until every orders partition's clock has passed
them, and a day is closed when that merge's frontier passes its end. The frontier is
also the clock this stage promises the pressure stage, which counts raised escalations.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timezone

from hotline.contract import codec, topics
from hotline.core import escalation
from hotline.core.pressure import OfficeFact
from hotline.core.screening import Rejected
from hotline.stream import bootstrap, clocks, metrics
from hotline.stream.app import app, escalation_proposals_topic, escalations_topic, json_table, office_facts_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry

STAGE = "escalate"
log = logging.getLogger(__name__)

policy = bootstrap.rules().escalation
# Budgets and the merge's held proposals share a table (see clocks.MergeTables).
budgets_table = json_table(
    "escalation-budgets",
    "Per receiving office: escalations raised and held back per day; merge|...: proposals held for event-time order, and the orders clocks",
)
promises = clocks.register(clocks.ClockPromises(STAGE, office_facts_topic))
merges = clocks.MergeTables(STAGE, ("orders",), budgets_table)


class BudgetPartitions:
    """Which offices' budgets live in which partition."""

    def __init__(self) -> None:
        self.offices: dict[int, set[str]] = defaultdict(set)
        self.closed_through: dict[int, float] = {}  # frontier the days were last closed at
        self.stale = True

    def rebuild(self) -> None:
        self.offices.clear()
        self.closed_through.clear()
        for office_id, value in budgets_table.items():
            if not merges.owns(office_id):
                self.offices[value["partition"]].add(office_id)
        self.stale = False


partitions = BudgetPartitions()


def _load(office_id: str) -> escalation.OfficeBudget | None:
    stored = budgets_table.get(office_id)
    return None if stored is None else escalation.OfficeBudget.from_dict(stored["budget"])


def _store(office_id: str, partition: int, budget: escalation.OfficeBudget) -> None:
    budgets_table[office_id] = {"budget": budget.to_dict(), "partition": partition}
    partitions.offices[partition].add(office_id)


async def _publish(event: dict, merge_at_seconds: float | None = None) -> None:
    """An escalation event; a raised one also tells the pressure stage, stamped with the
    merge time of the proposal that raised it."""
    key = event.get("order_id") or event["to_office_id"]
    await escalations_topic.send(key=key.encode(), value=codec.encode(event))
    metrics.MESSAGES_PRODUCED.labels(topic=topics.ESCALATIONS.name).inc()
    if event["type"] == "escalation.raised":
        metrics.ESCALATIONS.labels(reason=event["reason"], level=event["to_level"]).inc()
        fact = OfficeFact(event["from_office_id"], "escalated", datetime.fromisoformat(event["occurred_at"]).timestamp())
        item = clocks.merge_item(merge_at_seconds, f"escalated|{event['caused_by']}", fact.__dict__)
        await office_facts_topic.send(key=fact.office_id.encode(), value=item)
    else:
        metrics.ESCALATIONS_HELD_BACK.labels(level=event.get("to_level") or "unknown").inc(event["count"])


async def _close_days(partition: int, watermark: datetime) -> None:
    for office_id in sorted(partitions.offices[partition]):
        budget = _load(office_id)
        if budget is None or budget.next_close_at is None or budget.next_close_at > watermark:
            continue
        summaries, budget = escalation.close_days(budget, watermark, policy, registry.offices)
        for summary in summaries:
            await _publish(summary)
        _store(office_id, partition, budget)


async def _admit(partition: int, proposal: escalation.Proposal, merge_at_seconds: float) -> None:
    raised, budget = escalation.admit(proposal, _load(proposal.to_office_id), policy)
    for item in raised:
        await _publish(item, merge_at_seconds)
    # Stored after what it raised was sent (hotline.stream.write_order): a proposal the
    # budget has seen was fully published, so admitting it again rightly does nothing.
    _store(proposal.to_office_id, partition, budget)


def _instant(at_seconds: float) -> datetime:
    return datetime.fromtimestamp(at_seconds, tz=timezone.utc)


@app.agent(escalation_proposals_topic, name="escalate")
async def escalate(stream):
    await registry.loaded.wait()
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        if partitions.stale:
            partitions.rebuild()
        try:
            value = codec.decode(message.value)
            if not clocks.is_promise(value):
                escalation.Proposal.from_dict(value["payload"])
            released = merges.accept(message.partition, value)
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an escalation proposal: {error}"))
            continue
        for item in released:
            # Days that ended before this proposal are closed before it is admitted.
            await _close_days(message.partition, _instant(item.at_seconds))
            await _admit(message.partition, escalation.Proposal.from_dict(item.payload), item.at_seconds)
        merges.handled(message.partition, released)
        frontier = merges.frontier_seconds(message.partition)
        if frontier is not None and frontier > partitions.closed_through.get(message.partition, float("-inf")):
            partitions.closed_through[message.partition] = frontier
            await _close_days(message.partition, _instant(frontier))
        # Everything released from now on is stamped at or after the frontier.
        promises.promise(message.partition, frontier)
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_budget_partitions(sender, assigned, **kwargs) -> None:
    partitions.stale = True
    merges.stale = True

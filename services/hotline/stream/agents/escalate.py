"""Escalate agent: escalation proposals keyed by receiving office -> hotline.escalations.v1.

Each receiving office has a daily budget (config/escalation.toml): proposals within it
are raised at once; the rest are held back and summarised in one event when the day ends
in event time, so supervision does not itself become overload.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from hotline.contract import codec, topics
from hotline.core import escalation
from hotline.core.pressure import OfficeFact
from hotline.core.screening import Rejected
from hotline.stream import metrics
from hotline.stream.app import app, escalation_proposals_topic, escalations_topic, json_table, office_facts_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry

STAGE = "escalate"
log = logging.getLogger(__name__)

policy = escalation.load_escalation_policy()
budgets_table = json_table("escalation-budgets", "Per receiving office: escalations raised and held back per day")


class BudgetPartitions:
    """Which offices' budgets live in which partition, and each partition's watermark."""

    def __init__(self) -> None:
        self.offices: dict[int, set[str]] = defaultdict(set)
        self.watermarks: dict[int, datetime] = {}
        self.stale = True

    def rebuild(self) -> None:
        self.offices.clear()
        for office_id, value in budgets_table.items():
            self.offices[value["partition"]].add(office_id)
        self.stale = False


partitions = BudgetPartitions()


def _load(office_id: str) -> escalation.OfficeBudget | None:
    stored = budgets_table.get(office_id)
    return None if stored is None else escalation.OfficeBudget.from_dict(stored["budget"])


def _store(office_id: str, partition: int, budget: escalation.OfficeBudget) -> None:
    budgets_table[office_id] = {"budget": budget.to_dict(), "partition": partition}
    partitions.offices[partition].add(office_id)


async def _publish(event: dict) -> None:
    key = event.get("order_id") or event["to_office_id"]
    await escalations_topic.send(key=key.encode(), value=codec.encode(event))
    metrics.MESSAGES_PRODUCED.labels(topic=topics.ESCALATIONS.name).inc()
    if event["type"] == "escalation.raised":
        metrics.ESCALATIONS.labels(reason=event["reason"], level=event["to_level"]).inc()
        fact = OfficeFact(event["from_office_id"], "escalated", datetime.fromisoformat(event["occurred_at"]).timestamp())
        await office_facts_topic.send(key=fact.office_id.encode(), value=codec.encode(fact.__dict__))
    else:
        metrics.ESCALATIONS_HELD_BACK.labels(level=event.get("to_level") or "unknown").inc(event["count"])


async def _close_days(partition: int, watermark: datetime) -> None:
    for office_id in sorted(partitions.offices[partition]):
        budget = _load(office_id)
        if budget is None or budget.next_close_at is None or budget.next_close_at > watermark:
            continue
        summaries, budget = escalation.close_days(budget, watermark, policy, registry.offices)
        _store(office_id, partition, budget)
        for summary in summaries:
            await _publish(summary)


@app.agent(escalation_proposals_topic, name="escalate")
async def escalate(stream):
    await registry.loaded.wait()
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        if partitions.stale:
            partitions.rebuild()
        try:
            proposal = escalation.Proposal.from_dict(codec.decode(message.value))
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an escalation proposal: {error}"))
            continue
        raised, budget = escalation.admit(proposal, _load(proposal.to_office_id), policy)
        _store(proposal.to_office_id, message.partition, budget)
        for item in raised:
            await _publish(item)
        current = partitions.watermarks.get(message.partition)
        if current is None or proposal.occurred_at > current:
            partitions.watermarks[message.partition] = proposal.occurred_at
            await _close_days(message.partition, proposal.occurred_at)
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_budget_partitions(sender, assigned, **kwargs) -> None:
    partitions.stale = True

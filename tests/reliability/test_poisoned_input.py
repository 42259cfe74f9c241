"""Poisoned input: a seeded fuzzer mixes 11 000 malformed or awkward messages of 18 kinds
into the simulated stream; the worker must keep going, dead-letter what the contract says
with the expected reason, count every message, and give the valid events exactly the
results of a clean run of the valid stream alone (the `reference_run`, its own broker).

What the contract says per kind (KINDS below):
- dead-lettered by the screen stage, with the reason code of hotline.core.screening /
  hotline.contract.schemas: not JSON, truncated JSON, wrong encoding, huge payload, not
  an object, wrong types, missing fields, unexpected fields, invalid values, unknown
  type, unsupported schema version, tombstones, and events stamped more than a day ahead
  of the wall clock (`occurred_in_future`);
- valid by schema, so screened and handled by the order fold, never dead-lettered by the
  screen stage: events of orders never received, dispatches to offices the registry does
  not know, exact re-deliveries of valid events (same event_id: the fold ignores them),
  lifecycles delivered out of order, and events far in the past (the orders stage
  dead-letters those its calendar cannot place as `beyond_calendar`).
Every fold-handled kind uses order ids of its own (prefix FUZZ-), except re-deliveries,
which repeat valid events byte for byte; so the valid orders' derived messages can be
told apart by order id and must equal the reference run's.

Fold-handled poison is delivered after it happened, as a message can be: its occurred_at
is no later than the valid events already in the stream where it is inserted (late by up
to a few hundred events), and a re-delivery comes after its original. An event stamped
ahead of everything seen so far is not poison but the clock (DESIGN §4: the watermark is
the highest event time seen); stamped more than HOTLINE_MAX_FUTURE_SECONDS ahead of the
wall clock, it is the far_future kind and dead-lettered.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import pytest

from support.reliability import DerivedMessages, ReliabilityPipeline, SimulatedStream, metric
from hotline.contract import topics

# Whole runs: the module's fixture replays thousands of events through a real worker.
pytestmark = pytest.mark.timeout(1800)

SEED = 20260707
MAX_EVENT_BYTES = 65536  # the worker's default HOTLINE_MAX_EVENT_BYTES
FUZZ_PREFIX = "FUZZ-"
UNKNOWN_OFFICE = "no-such-office"
LATENESS_EVENTS = 300  # how far back in the stream a late poison event may have happened
COMPARED = [
    topics.SCREENED,
    topics.CASES,
    topics.DEADLINES,
    topics.ESCALATIONS,
]


@dataclass(frozen=True)
class Expectation:
    """`stage`/`reason` of the dead letter the kind must get, or None: screened and folded."""

    count: int
    reason: str | None


KINDS: dict[str, Expectation] = {
    "not_json": Expectation(650, "invalid_json"),
    "truncated_json": Expectation(650, "invalid_json"),
    "wrong_encoding": Expectation(650, "invalid_encoding"),
    "huge_payload": Expectation(300, "too_large"),
    "not_an_object": Expectation(500, "not_an_object"),
    "wrong_type": Expectation(750, "wrong_type"),
    "missing_field": Expectation(750, "missing_field"),
    "unexpected_field": Expectation(500, "unexpected_field"),
    "invalid_value": Expectation(600, "invalid_value"),
    "unknown_type": Expectation(600, "unknown_type"),
    "unsupported_schema_version": Expectation(400, "unsupported_schema_version"),
    "tombstone": Expectation(300, "empty_message"),
    "unknown_order": Expectation(750, None),
    "unknown_office": Expectation(500, None),
    "duplicate_event_id": Expectation(1000, None),
    "out_of_order_lifecycle": Expectation(300, None),  # orders; MESSAGES_PER_POISON events each
    "far_future": Expectation(300, "occurred_in_future"),
    "far_past": Expectation(300, None),
}


MESSAGES_PER_POISON = {"out_of_order_lifecycle": 5}


@dataclass(frozen=True)
class Poison:
    kind: str
    key: bytes | None
    value: bytes | None


class Fuzzer:
    """Seeded: the same seed and valid stream give the same poisoned stream."""

    def __init__(self, seed: int, valid: list[dict], lines: list[bytes]):
        self.rng = random.Random(seed)
        self.valid = valid
        self.lines = lines
        self.offices = sorted({e["data"]["office_id"] for e in valid if e["type"] == "order.dispatched"})
        self.fuzz_orders = 0
        self.delivered_after = 1  # valid lines already in the stream where the poison goes

    def _event(self) -> dict:
        return dict(self.rng.choice(self.valid))

    def _order_id(self) -> str:
        self.fuzz_orders += 1
        return f"{FUZZ_PREFIX}{self.fuzz_orders:05d}"

    def _instant(self) -> datetime:
        """When a poison event happened: at or before one of the valid events just before
        it in the stream (delivered late, never ahead of the stream)."""
        recent = self.valid[max(0, self.delivered_after - LATENESS_EVENTS) : self.delivered_after]
        return datetime.fromisoformat(self.rng.choice(recent)["occurred_at"])

    @staticmethod
    def _encode(event: dict) -> bytes:
        return orjson.dumps(event)

    @staticmethod
    def _data(event_type: str, office_id: str) -> dict:
        """The least data the schema asks of a lifecycle event of this type."""
        return {
            "order.dispatched": {"office_id": office_id},
            "order.signed": {"office_id": office_id},
            "order.replied": {"office_id": office_id, "kind": "first_contact"},
            "order.resolved": {"office_id": office_id},
            "order.closed": {},
        }[event_type]

    def _lifecycle_event(self, order_id: str, event_type: str, at: datetime, office_id: str) -> dict:
        return {
            "event_id": f"{order_id}-{event_type}-{at.timestamp():.0f}",
            "type": event_type,
            "order_id": order_id,
            "occurred_at": at.isoformat(),
            "schema": 1,
            "data": self._data(event_type, office_id),
        }

    def messages(self, kind: str, delivered_after: int) -> list[Poison]:
        self.delivered_after = delivered_after
        make = getattr(self, f"_{kind}")
        made = make()
        return [Poison(kind, key, value) for key, value in (made if isinstance(made, list) else [made])]

    # -- dead-lettered by the screen stage -------------------------------------------------

    def _keyed(self, event: dict, value: bytes | None) -> tuple[bytes | None, bytes | None]:
        return event["order_id"].encode(), value

    def _not_json(self):
        text = "".join(self.rng.choice("abc{}[]:,\"' 0123456789工单") for _ in range(self.rng.randint(1, 80)))
        return None, ("not json: " + text).encode()

    def _truncated_json(self):
        # Cut between characters, not inside one: a split UTF-8 sequence would be invalid_encoding.
        text = self.rng.choice(self.lines).decode()
        return None, text[: self.rng.randint(1, len(text) - 2)].encode()

    def _wrong_encoding(self):
        event = self._event()
        # UTF-16 starts with a byte order mark (0xFF 0xFE) that can never begin UTF-8.
        return self._keyed(event, orjson.dumps(event).decode().encode("utf-16"))

    def _huge_payload(self):
        event = self._event()
        event["data"] = {**event["data"], "padding": "x" * (MAX_EVENT_BYTES + self.rng.randint(1, 200_000))}
        return self._keyed(event, self._encode(event))

    def _not_an_object(self):
        return None, self.rng.choice([b"[]", b"42", b'"appeal.received"', b"null", b"true", orjson.dumps([self._event()])])

    def _wrong_type(self):
        event = self._event()
        field, value = self.rng.choice([("order_id", 12345), ("event_id", ["x"]), ("data", "text"), ("occurred_at", 1767225600)])
        return self._keyed(event, self._encode({**event, field: value}))

    def _missing_field(self):
        event = self._event()
        del event[self.rng.choice(["event_id", "type", "order_id", "occurred_at", "schema", "data"])]
        return None, self._encode(event)

    def _unexpected_field(self):
        event = self._event()
        return self._keyed(event, self._encode({**event, "priority": "high"}))

    def _invalid_value(self):
        event = self._event()
        field, value = self.rng.choice([("occurred_at", "yesterday"), ("occurred_at", "2026-02-30T10:00:00+08:00"), ("event_id", "")])
        return self._keyed(event, self._encode({**event, field: value}))

    def _unknown_type(self):
        event = self._event()
        return self._keyed(event, self._encode({**event, "type": self.rng.choice(["order.teleported", "appeal.deleted", "ORDER.CLOSED"])}))

    def _unsupported_schema_version(self):
        event = self._event()
        return self._keyed(event, self._encode({**event, "schema": self.rng.choice([0, 2, 99])}))

    def _tombstone(self):
        return self._keyed(self._event(), None)

    # -- valid by schema: screened, then handled by the order fold -----------------------

    def _unknown_order(self):
        order_id = self._order_id()
        event_type = self.rng.choice(["order.signed", "order.replied", "order.resolved", "order.closed"])
        event = self._lifecycle_event(order_id, event_type, self._instant(), self.rng.choice(self.offices))
        return order_id.encode(), self._encode(event)

    def _unknown_office(self):
        order_id = self._order_id()
        event = self._lifecycle_event(order_id, "order.dispatched", self._instant(), f"{UNKNOWN_OFFICE}-{self.rng.randint(1, 5)}")
        return order_id.encode(), self._encode(event)

    def _duplicate_event_id(self):
        line = self.rng.choice(self.lines[: self.delivered_after])  # a re-delivery follows its original
        return orjson.loads(line)["order_id"].encode(), line

    def _out_of_order_lifecycle(self):
        order_id = self._order_id()
        start = self._instant() - timedelta(minutes=40)
        office = self.rng.choice(self.offices)
        steps = ["order.dispatched", "order.signed", "order.replied", "order.resolved", "order.closed"]
        events = [self._lifecycle_event(order_id, t, start + timedelta(minutes=10 * i), office) for i, t in enumerate(steps)]
        self.rng.shuffle(events)
        if [e["type"] for e in events] == steps:
            events.reverse()
        return [(order_id.encode(), self._encode(e)) for e in events]

    def _far(self, years: int):
        order_id = self._order_id()
        instant = self._instant()
        at = instant.replace(year=instant.year + years)
        event_type = self.rng.choice(["order.dispatched", "order.replied", "order.closed"])
        return order_id.encode(), self._encode(self._lifecycle_event(order_id, event_type, at, self.rng.choice(self.offices)))

    def _far_future(self):
        return self._far(self.rng.choice([30, 500, 7000]))

    def _far_past(self):
        return self._far(-self.rng.choice([30, 126, 2000]))


def poisoned_stream(stream: SimulatedStream, seed: int) -> list[tuple[bytes | None, bytes | None, str | None]]:
    """The valid lines (keyed by order id, in file order) with every poison inserted at a
    seeded random position; each message with the poison kind that made it (None: valid).

    A poison of several messages (an out-of-order lifecycle) has them spread over the
    stream; all of it happened before the first of its positions."""
    lines = stream.lines()
    fuzzer = Fuzzer(seed, stream.events(), lines)
    groups = [kind for kind, expected in KINDS.items() for _ in range(expected.count)]
    slots = [(group, part) for group, kind in enumerate(groups) for part in range(MESSAGES_PER_POISON.get(kind, 1))]
    valid = [(orjson.loads(line)["order_id"].encode(), line, None) for line in lines]
    # Positions are drawn so every valid line keeps its place relative to the others; a
    # poison goes after at least one valid line, so it can be late relative to it.
    positions = sorted(fuzzer.rng.randrange(1, len(valid) + 1) for _ in slots)
    fuzzer.rng.shuffle(slots)
    first_position: dict[int, int] = {}
    for position, (group, _) in zip(positions, slots):
        first_position.setdefault(group, position)
    made = {group: fuzzer.messages(kind, first_position[group]) for group, kind in enumerate(groups)}
    delivered: dict[int, int] = {}
    mixed: list[tuple[bytes | None, bytes | None, str | None]] = []
    previous = 0
    for position, (group, _) in zip(positions, slots):
        mixed.extend(valid[previous:position])
        poison = made[group][delivered.get(group, 0)]
        delivered[group] = delivered.get(group, 0) + 1
        mixed.append((poison.key, poison.value, poison.kind))
        previous = position
    mixed.extend(valid[previous:])
    return mixed


@dataclass(frozen=True)
class PoisonedRun:
    pipeline: ReliabilityPipeline
    sent: list[tuple[bytes | None, bytes | None, str | None]]
    positions: list[tuple[int, int]]
    derived: DerivedMessages
    samples: dict
    valid_orders: frozenset[str]

    def kind_at(self) -> dict[tuple[int, int], str | None]:
        return {position: kind for position, (_, _, kind) in zip(self.positions, self.sent)}


@pytest.fixture(scope="module")
def poisoned(reference_run, simulated_stream, pipeline_factory) -> PoisonedRun:
    sent = poisoned_stream(simulated_stream, SEED)
    pipeline = pipeline_factory("hotline-poisoned")
    pipeline.hotline("offices", "load", str(simulated_stream.offices_path))
    positions = pipeline.produce([(key, value) for key, value, _ in sent])
    pipeline.ends_with(simulated_stream)
    pipeline.drain()
    assert pipeline.worker.process.poll() is None, pipeline.worker.log_text()[-3000:]
    valid_orders = frozenset(e["order_id"] for e in simulated_stream.events())
    return PoisonedRun(pipeline, sent, positions, pipeline.derived(), pipeline.worker.metrics(), valid_orders)


def test_the_fuzzer_mixes_enough_poison_of_every_kind_into_the_stream(poisoned, simulated_stream):
    kinds = Counter(kind for _, _, kind in poisoned.sent if kind is not None)
    assert set(kinds) == set(KINDS)
    assert sum(kinds.values()) >= 10_000
    assert len(poisoned.sent) - sum(kinds.values()) == len(simulated_stream.lines())
    assert any(value is not None and len(value) > MAX_EVENT_BYTES for _, value, kind in poisoned.sent if kind == "huge_payload")


def test_the_worker_never_stops_and_the_group_commits_every_message(poisoned):
    assert poisoned.pipeline.worker.process.poll() is None
    assert poisoned.pipeline.input_lag() == 0


def test_every_malformed_message_is_dead_lettered_by_the_screen_stage_with_its_reason(poisoned):
    letters = {
        (v["source"]["partition"], v["source"]["offset"]): (v["stage"], v["reason"])
        for v in poisoned.derived.values(topics.DEADLETTER.name)
        if v["source"]["topic"] == topics.EVENTS.name
    }
    expected = {
        position: ("screen", KINDS[kind].reason)
        for position, kind in poisoned.kind_at().items()
        if kind is not None and KINDS[kind].reason is not None
    }
    assert {position: letters.get(position) for position in expected} == expected
    # nothing else of the input topic was dead-lettered by the screen stage
    assert {p: l for p, l in letters.items() if p not in expected and l[0] == "screen"} == {}


def test_schema_valid_poison_is_screened_and_folded_not_dead_lettered_by_the_screen_stage(poisoned):
    # given the events of FUZZ- orders (unknown orders and offices, out-of-order lifecycles, far times)
    fuzz_event_ids = {orjson.loads(value)["event_id"] for _, value, kind in poisoned.sent if kind is not None and KINDS[kind].reason is None and kind != "duplicate_event_id"}
    # then every one of them reached the screened topic once
    screened_causes = Counter(v["caused_by"] for v in poisoned.derived.values(topics.SCREENED.name))
    assert {event_id: screened_causes[event_id] for event_id in fuzz_event_ids} == {event_id: 1 for event_id in fuzz_event_ids}
    # and the orders stage dead-letters only what its calendar cannot place
    orders_letters = Counter(v["reason"] for v in poisoned.derived.values(topics.DEADLETTER.name) if v["stage"] == "orders")
    assert set(orders_letters) <= {"beyond_calendar"}, orders_letters


def test_counters_prove_every_consumed_message_was_processed_or_dead_lettered(poisoned):
    samples = poisoned.samples
    consumed = metric(samples, "hotline_messages_consumed_total", topic=topics.EVENTS.name)
    processed = metric(samples, "hotline_messages_processed_total", stage="screen")
    dead_lettered = metric(samples, "hotline_messages_deadlettered_total", stage="screen")
    malformed = sum(1 for _, _, kind in poisoned.sent if kind is not None and KINDS[kind].reason is not None)
    assert (consumed, processed + dead_lettered, dead_lettered) == (len(poisoned.sent), len(poisoned.sent), malformed)
    reasons = Counter(KINDS[kind].reason for _, _, kind in poisoned.sent if kind is not None and KINDS[kind].reason is not None)
    assert {reason: metric(samples, "hotline_messages_deadlettered_total", stage="screen", reason=reason) for reason in reasons} == reasons
    # the order fold takes what the screen passed on in memory, and what it reads
    rekeyed = f"{poisoned.pipeline.app_id}-screened-by-order"
    passed_on = processed - metric(samples, "hotline_messages_produced_total", topic=rekeyed)
    orders_input = (rekeyed, topics.CASES.name, f"{poisoned.pipeline.app_id}-clock-ticks")
    orders_taken = passed_on + sum(metric(samples, "hotline_messages_consumed_total", topic=name) for name in orders_input)
    orders_done = metric(samples, "hotline_messages_processed_total", stage="orders") + metric(samples, "hotline_messages_deadlettered_total", stage="orders")
    assert orders_taken == orders_done


def _orders_of(derived: dict) -> set[str]:
    """The orders a derived message is about (a daily escalation summary names several)."""
    return {derived["order_id"]} if "order_id" in derived else set(derived.get("order_ids", []))


@pytest.mark.parametrize("spec", COMPARED, ids=lambda spec: spec.name)
def test_valid_events_give_exactly_the_results_of_a_clean_run(poisoned, reference_run, spec):
    # given the derived messages of the valid orders in the poisoned run
    poisoned_ids = {v["event_id"] for v in poisoned.derived.values(spec.name) if _orders_of(v) <= poisoned.valid_orders}
    # then they are the clean run's, no more, no fewer
    clean_ids = reference_run.event_ids(spec.name)
    assert clean_ids, spec.name
    assert (len(poisoned_ids - clean_ids), len(clean_ids - poisoned_ids)) == (0, 0)

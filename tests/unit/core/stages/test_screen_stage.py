"""The screen handler: what goes where, the stamps, and when the clock is stored."""

from __future__ import annotations

import orjson

from hotline.contract.schemas import event_validator
from hotline.core.ordering import StampClock
from hotline.core.privacy import pseudonymize
from hotline.core.screening import Rejected, ScreenSettings
from hotline.core.stages.screen import APPEALS_BY_CALLER, SCREENED, RawEvent, ScreenPartition
from hotline.core.stages.state import Failed, StateView, Written
from hotline.rules import load_screening_rules

KEY = b"unit-test-key-unit-test-key-0000"
SETTINGS = ScreenSettings(pseudonym_key=KEY, max_future_seconds=3600.0)
RULES = load_screening_rules()
T0 = 1767574800.0  # 2026-01-05T01:00:00Z


def appeal(number: int, minute: int, caller: str | None = "13812345678", text: str = "楼下烧烤店营业到凌晨，油烟和噪音很大，希望尽快处理。") -> bytes:
    data = {
        "channel": "phone",
        "title": "烧烤店噪音",
        "text": text,
        "category": "noise",
        "urgency": "normal",
        "location": {"district": "天河区", "street": "石牌街道"},
    }
    if caller is not None:
        data["caller_id"] = caller
    return orjson.dumps(
        {
            "event_id": f"in-{number}",
            "type": "appeal.received",
            "order_id": f"GD-{number}",
            "occurred_at": f"2026-01-05T01:{minute:02d}:00Z",
            "schema": 1,
            "data": data,
        }
    )


def dispatch(number: int, minute: int) -> bytes:
    event = {
        "event_id": f"in-dispatch-{number}",
        "type": "order.dispatched",
        "order_id": f"GD-{number}",
        "occurred_at": f"2026-01-05T01:{minute:02d}:00Z",
        "schema": 1,
        "data": {"office_id": "c-1"},
    }
    return orjson.dumps(event)


def handler(rules=RULES, clock: StampClock | None = None) -> ScreenPartition:
    return ScreenPartition(rules, SETTINGS, event_validator(), 3, clock)


def run(screen: ScreenPartition, raws: list[RawEvent], table: dict) -> list:
    steps = screen.handle(raws, StateView(table.get))
    for step in steps:
        table.update((write.key, write.value) for write in step.written)
    return steps


def test_an_appeal_goes_to_screened_by_order_and_to_the_callers_stage_by_caller_stamped():
    # given a fresh partition
    screen, table = handler(), {}
    # when an appeal is read at offset 7
    [step] = run(screen, [RawEvent(7, appeal(1, 0), read_at_seconds=T0, monotonic_seconds=100.0)], table)
    # then it goes to hotline.screened.v1 under its order id, judged on its content ...
    assert [(sent.topic, sent.key) for sent in step.sent] == [(SCREENED, "GD-1"), (APPEALS_BY_CALLER, pseudonymize("13812345678", KEY))]
    screened = step.sent[0].value
    assert (screened["caused_by"], screened["verdict"], screened["data"]["category"]) == ("in-1", {"status": "accepted", "reasons": []}, "noise")
    # ... and to the callers stage stamped with its event time, merged by order and cause
    assert step.sent[1].value == {"at_seconds": T0, "key": "GD-1|in-1", "payload": screened}
    # and the clock is stored with the offset it covers and promised
    assert step.written == [Written("screen/3", {"at_seconds": T0, "offset": 7, "partition": 3})]
    assert step.promised_seconds == T0


def test_an_appeal_without_a_caller_is_judged_under_its_order_id():
    [step] = run(handler(), [RawEvent(0, appeal(2, 0, caller=None))], {})
    assert [(sent.topic, sent.key) for sent in step.sent] == [(SCREENED, "GD-2"), (APPEALS_BY_CALLER, "order:GD-2")]


def test_a_lifecycle_event_goes_to_screened_only():
    [step] = run(handler(), [RawEvent(0, dispatch(1, 5))], {})
    assert [(sent.topic, sent.key) for sent in step.sent] == [(SCREENED, "GD-1")]
    assert (step.sent[0].value["caused_by"], step.sent[0].value["verdict"]) == ("in-dispatch-1", {"status": "accepted", "reasons": []})


def test_a_rejected_event_sends_nothing_and_stamps_nothing():
    # given a partition whose clock is at minute 10
    screen, table = handler(), {}
    run(screen, [RawEvent(0, appeal(1, 10))], table)
    # when an unreadable message and one from two hours ahead of the reader's clock come
    steps = run(screen, [RawEvent(1, b"{not json"), RawEvent(2, appeal(2, 59), read_at_seconds=T0 - 7200, monotonic_seconds=9.0)], table)
    # then both are rejected with their reasons, and the clock stays
    assert [type(step.outcome) for step in steps] == [Rejected, Rejected]
    assert [(step.sent, step.written) for step in steps] == [([], []), ([], [])]
    assert (screen.clock_seconds, screen.clock.covered_offset) == (T0 + 600, 0)


def test_stamps_never_go_back():
    # when an appeal of minute 20 is read before one of minute 5
    steps = run(handler(), [RawEvent(0, appeal(1, 20)), RawEvent(1, appeal(2, 5))], {})
    # then the later-read one is stamped with the partition's clock, not its own time
    assert [step.sent[1].value["at_seconds"] for step in steps] == [T0 + 1200, T0 + 1200]


def test_the_clock_is_stored_at_most_once_per_interval_of_the_readers_clock():
    screen, table = handler(), {}
    steps = run(
        screen,
        [RawEvent(0, appeal(1, 0), monotonic_seconds=10.0), RawEvent(1, appeal(2, 1), monotonic_seconds=10.4), RawEvent(2, appeal(3, 2), monotonic_seconds=10.5)],
        table,
    )
    assert [[write.value["offset"] for write in step.written] for step in steps] == [[0], [], [2]]
    assert [step.promised_seconds for step in steps] == [T0, None, T0 + 120]


def test_input_read_again_after_a_crash_is_stamped_as_the_first_time():
    # given a stored clock at minute 30 that covers offset 5
    stored = [{"at_seconds": T0 + 1800, "offset": 5, "partition": 3}]
    [screen] = ScreenPartition.from_stored(RULES, SETTINGS, event_validator(), stored).values()
    # when offsets 4 and 6 are read (4 again, 6 for the first time)
    steps = run(screen, [RawEvent(4, appeal(4, 10)), RawEvent(6, appeal(6, 40))], {})
    # then offset 4 gets its own time, as the first time, and offset 6 moves the clock
    assert [step.sent[1].value["at_seconds"] for step in steps] == [T0 + 600, T0 + 2400]
    assert (screen.partition, screen.clock_seconds, screen.clock.covered_offset) == (3, T0 + 2400, 6)


def test_a_tick_moves_the_clock_and_stores_it_at_once():
    screen, table = handler(), {}
    run(screen, [RawEvent(0, appeal(1, 0), monotonic_seconds=50.0)], table)
    step = screen.advance(StateView(table.get), T0 + 3600, monotonic_seconds=50.1)
    assert (step.sent, step.written, step.promised_seconds) == ([], [Written("screen/3", {"at_seconds": T0 + 3600, "offset": 0, "partition": 3})], T0 + 3600)
    # a tick behind the clock changes nothing but is stored all the same
    assert screen.advance(StateView(table.get), T0, monotonic_seconds=50.2).promised_seconds == T0 + 3600


def test_without_rules_an_appeal_goes_to_screened_as_validated():
    # given an appeal whose words the rules would flag
    raw = appeal(1, 0, text="我和公司的工资纠纷已经申请劳动仲裁了，想问进度。")
    assert run(handler(), [RawEvent(0, raw)], {})[0].sent[0].value["verdict"] == {"status": "flagged", "reasons": ["litigation_or_arbitration"]}
    # then without rules it goes to hotline.screened.v1 alone, with the validation's verdict
    [step] = run(handler(rules=None), [RawEvent(0, raw)], {})
    assert [(sent.topic, sent.key) for sent in step.sent] == [(SCREENED, "GD-1")]
    assert step.sent[0].value["verdict"] == {"status": "accepted", "reasons": []}


def test_a_step_that_raises_comes_back_failed_with_its_writes_dropped():
    class BrokenRules:
        def appeal_from_screened(self, event):
            raise RuntimeError("broken rule")

    screen = ScreenPartition(BrokenRules(), SETTINGS, event_validator(), 3)
    [step] = screen.handle([RawEvent(0, appeal(1, 0))], StateView({}.get))
    assert (type(step), str(step.error)) == (Failed, "broken rule")

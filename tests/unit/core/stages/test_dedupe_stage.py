"""The dedupe handler: links with their repeat counts, replays, and the purge."""

from __future__ import annotations

from hotline.core.stages.dedupe import DedupePartition, case_key, entry_key
from hotline.core.stages.state import CASES, StateView, Written
from hotline.rules import load_dedupe_settings, load_screening_rules

DAY = 86400.0
RULES = load_screening_rules()
SETTINGS = load_dedupe_settings()
TEXT = "楼下烧烤店每天营业到凌晨两点，油烟和吆喝声很大，严重影响休息。"


def judged(number: int, date: str = "2026-01-05", verdict: str = "accepted") -> dict:
    return {
        "event_id": f"screened-{number}",
        "caused_by": f"in-{number}",
        "type": "appeal.received",
        "order_id": f"GD-{number}",
        "occurred_at": f"{date}T01:00:0{number}Z",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": "c_caller1",
            "title": "楼下烧烤店",
            "text": TEXT,
            "category": "noise",
            "urgency": "normal",
            "location": {"district": "天河区", "street": "石牌街道", "community": "华师社区", "address": "华师路12号"},
        },
        "verdict": {"status": verdict, "reasons": [] if verdict == "accepted" else ["frequent_caller"]},
    }


def link_all(handler: DedupePartition, appeals: list[dict], table: dict) -> list:
    steps = handler.handle(appeals, StateView(table.get))
    for step in steps:
        for write in step.written:
            if write.value is None:
                table.pop(write.key)
            else:
                table[write.key] = write.value
    return steps


def test_each_repeat_of_a_case_is_counted_and_carries_its_final_verdict():
    # given an appeal and two resubmissions by the same caller, the last one flagged
    handler = DedupePartition(RULES, SETTINGS, 2)
    table: dict = {}
    # when dedupe links them
    first, second, third = link_all(handler, [judged(1), judged(2), judged(3, verdict="flagged")], table)
    # then the first opens case GD-1, the others link to it counting 1 and 2
    assert [(sent.topic, sent.key, sent.value["type"], sent.value["repeat_count"]) for step in (first, second, third) for sent in step.sent] == [
        (CASES, "GD-1", "case.opened", 0),
        (CASES, "GD-2", "case.linked", 1),
        (CASES, "GD-3", "case.linked", 2),
    ]
    assert third.sent[0].value["verdict"] == {"status": "flagged", "reasons": ["frequent_caller"]}
    assert (first.counted_relation, second.counted_relation) == (None, "exact_resubmission")
    assert table[case_key("GD-1")] == {"repeat_count": 2, "counted_order_id": "GD-3", "partition": 2}
    assert [write.key for write in second.written] == [case_key("GD-1"), entry_key("GD-2")]
    assert (table[entry_key("GD-2")]["repeat_count"], table[entry_key("GD-2")]["partition"]) == (1, 2)


def test_an_appeal_released_again_sends_its_first_link_and_stores_nothing():
    handler = DedupePartition(RULES, SETTINGS, 0)
    table: dict = {}
    _, second = link_all(handler, [judged(1), judged(2)], table)
    [again] = link_all(handler, [judged(2)], table)
    assert again.sent == second.sent
    assert (again.written, again.counted_relation) == ([], None)


def test_a_link_after_a_crash_between_the_case_count_and_the_entry_is_not_counted_twice():
    # given the case count stored for GD-2 but not its entry (the crash came in between)
    handler = DedupePartition(RULES, SETTINGS, 0)
    table: dict = {}
    link_all(handler, [judged(1), judged(2)], table)
    del table[entry_key("GD-2")]
    rebuilt = DedupePartition.from_stored(RULES, SETTINGS, table.items())[0]
    # when GD-2 is released again
    [again] = link_all(rebuilt, [judged(2)], table)
    # then it carries the count the case recorded for it
    assert again.sent[0].value["repeat_count"] == 1
    assert table[case_key("GD-1")]["repeat_count"] == 1


def test_appeals_older_than_the_window_are_purged_with_their_case_count():
    # given a case with one repeat
    handler = DedupePartition(RULES, SETTINGS, 0)
    table: dict = {}
    link_all(handler, [judged(1), judged(2)], table)
    # when an appeal arrives after the longest window (90 days)
    assert SETTINGS.horizon_seconds == 90 * DAY
    [step] = link_all(handler, [judged(3, date="2026-04-06")], table)
    # then both old entries and the case count leave the table; the new appeal opens a case
    assert step.sent[0].value["type"] == "case.opened"
    assert step.written[1:] == [Written(entry_key("GD-1"), None), Written(case_key("GD-1"), None), Written(entry_key("GD-2"), None)]
    assert sorted(table) == [entry_key("GD-3")]

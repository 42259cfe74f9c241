"""The callers handler: final verdicts, which appeals go on to dedupe, quiet callers."""

from __future__ import annotations

import json
from dataclasses import replace

from hotline.core.ordering import MergeItem
from hotline.core.stages.callers import CallersPartition, caller_key
from hotline.core.stages.state import APPEALS_BY_PLACE, StateView, Written
from hotline.evaluation.pipeline import run_offline
from hotline.rules import load_dedupe_settings, load_screening_rules

DAY = 86400.0
T0 = 1767574800.0  # 2026-01-05T01:00:00Z
RULES = load_screening_rules()
# Flagged appeals skip dedupe here, so the screen and the final verdict decide differently.
SKIP_FLAGGED = replace(load_dedupe_settings(), skip_verdicts=frozenset({"rejected", "flagged"}))
# Five unrelated issues in five days: the fifth makes a frequent caller.
ISSUES = [("noise", "润庭社区"), ("sanitation", "润庭社区"), ("traffic", "润庭社区"), ("noise", "华师社区"), ("road", "东湖社区")]


def screened(number: int, category: str, community: str, status: str = "accepted") -> dict:
    return {
        "event_id": f"screened-{number}",
        "caused_by": f"in-{number}",
        "type": "appeal.received",
        "order_id": f"GD-{number}",
        "occurred_at": f"2026-01-0{5 + number}T01:00:00Z",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": "c_frequent",
            "title": "门口的问题",
            "text": "门口的问题一直没人管，希望尽快处理。",
            "category": category,
            "urgency": "normal",
            "location": {"district": "高新区", "street": "胜利街道", "community": community},
        },
        "verdict": {"status": status, "reasons": [] if status == "accepted" else ["non_actionable"]},
    }


def item(number: int, status: str = "accepted") -> MergeItem:
    category, community = ISSUES[number]
    return MergeItem(T0 + number * DAY, f"GD-{number}|in-{number}", screened(number, category, community, status))


def judge_all(handler: CallersPartition, items: list[MergeItem], table: dict) -> list:
    steps = handler.handle(items, StateView(table.get))
    for step in steps:
        for write in step.written:
            table[write.key] = write.value
    return steps


def test_an_appeal_goes_on_to_dedupe_on_the_screen_verdict_carrying_the_final_one():
    # given a caller whose fifth unrelated issue makes a frequent caller, and dedupe skipping flagged appeals
    handler = CallersPartition(RULES, SKIP_FLAGGED, 0)
    # when the screen stage accepted all five
    steps = judge_all(handler, [item(number) for number in range(5)], {})
    # then the fifth is flagged by the callers stage, yet still goes on to dedupe (the
    # orders stage waits for its case link, decided on the screen stage's verdict)
    assert [step.verdict.status for step in steps] == ["accepted"] * 4 + ["flagged"]
    fifth = steps[4].sent
    assert [(sent.topic, sent.key) for sent in fifth] == [(APPEALS_BY_PLACE, "高新区")]
    assert fifth[0].value["at_seconds"] == T0 + 4 * DAY
    assert fifth[0].value["payload"]["verdict"] == {"status": "flagged", "reasons": ["frequent_caller"]}


def test_an_appeal_the_screen_stage_flagged_does_not_go_on_when_dedupe_skips_flagged():
    handler = CallersPartition(RULES, SKIP_FLAGGED, 0)
    [step] = judge_all(handler, [item(0, status="flagged")], {})
    assert (step.verdict.status, step.sent) == ("flagged", [])
    assert [write.key for write in step.written] == [caller_key("c_frequent")]


def test_the_offline_chain_links_what_the_callers_handler_passes_on():
    # given the same five appeals as hotline.events.v1 lines
    def line(number: int) -> bytes:
        event = screened(number, *ISSUES[number])
        del event["caused_by"], event["verdict"]
        event["event_id"] = f"in-{number}"
        return json.dumps(event, ensure_ascii=False).encode()

    # when the offline chain runs them with dedupe skipping flagged appeals
    run = run_offline([line(number) for number in range(5)], RULES, SKIP_FLAGGED)
    # then the frequent caller's fifth appeal is flagged and still opens a case
    assert run.verdicts["GD-4"].status == "flagged"
    assert sorted(run.decisions) == ["GD-0", "GD-1", "GD-2", "GD-3", "GD-4"]


def test_an_appeal_released_again_gets_its_first_verdict_and_stores_nothing():
    handler = CallersPartition(RULES, load_dedupe_settings(), 0)
    table: dict = {}
    first = judge_all(handler, [item(number) for number in range(5)], table)
    [again] = judge_all(handler, [item(4)], table)
    assert again.verdict == first[4].verdict
    assert again.written == []
    assert again.sent == first[4].sent


def test_a_caller_quiet_past_the_window_on_the_frontier_leaves_the_table():
    # given a caller whose newest appeal is at T0
    handler = CallersPartition(RULES, load_dedupe_settings(), 0)
    table: dict = {}
    judge_all(handler, [item(0)], table)
    window = RULES.frequent_caller.window_seconds
    # when the frontier reaches the end of the window, and then passes it
    at_end = handler.forget_quiet(StateView(table.get), T0 + window)
    past_end = handler.forget_quiet(StateView(table.get), T0 + window + 1)
    # then the caller is forgotten only once the frontier has passed it
    assert (at_end.written, at_end.forgotten) == ([], 0)
    assert (past_end.written, past_end.forgotten) == ([Written(caller_key("c_frequent"), None)], 1)


def test_a_rebuilt_partition_forgets_the_callers_it_stored():
    table: dict = {}
    judge_all(CallersPartition(RULES, load_dedupe_settings(), 3), [item(0)], table)
    rebuilt = CallersPartition.from_stored(RULES, load_dedupe_settings(), table.items())
    step = rebuilt[3].forget_quiet(StateView(table.get), T0 + RULES.frequent_caller.window_seconds + 1)
    assert list(rebuilt) == [3]
    assert step.written == [Written(caller_key("c_frequent"), None)]

"""Ground truth: one record per appeal, repeats that are what they claim, the format."""

from __future__ import annotations

import re
from collections import Counter

from simulator_runs import events_by_order, run, truth_of

from hotline.core.privacy import redact
from hotline.sim.people import id_check_character

APPEAL_KEYS = {"kind", "order_id", "issue_id", "repeat_of", "relation", "unreasonable", "unreasonable_reason"}
OVERLOAD_KEYS = {"kind", "office_id", "start", "end"}
ORDER_KEYS = {"kind", "order_id", "ping_pong", "rush_closure", "expected_escalations"}
REASONS = {"litigation_or_arbitration", "emergency_service", "outside_jurisdiction", "abusive_content", "non_actionable", "no_content", "frequent_caller"}


def _appeals(simulation) -> dict[str, dict]:
    return {event["order_id"]: event for event in simulation.events if event["type"] == "appeal.received"}


def test_truth_has_one_appeal_record_per_appeal_received_in_event_order(any_run):
    received = [event["order_id"] for event in any_run.events if event["type"] == "appeal.received"]
    assert [record["order_id"] for record in truth_of(any_run, "appeal")] == received


def test_truth_records_have_exactly_the_documented_fields(any_run):
    shapes = {"appeal": APPEAL_KEYS, "overload": OVERLOAD_KEYS, "order": ORDER_KEYS}
    assert all(set(record) == shapes[record["kind"]] for record in any_run.truth)
    for record in truth_of(any_run, "appeal"):
        assert record["relation"] in (None, "exact_resubmission", "same_caller_same_issue", "other_caller_same_issue", "standing_case")
        assert (record["repeat_of"] is None) == (record["relation"] is None)
        assert record["unreasonable"] == (record["unreasonable_reason"] is not None)
        assert record["unreasonable_reason"] in REASONS | {None}
    for record in truth_of(any_run, "overload"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", record["start"]) and record["start"] < record["end"]


def test_repeat_of_names_an_earlier_order_of_the_same_issue(any_run):
    records = {record["order_id"]: record for record in truth_of(any_run, "appeal")}
    order_of_arrival = {order_id: index for index, order_id in enumerate(records)}
    repeats = [record for record in records.values() if record["repeat_of"] is not None]
    assert repeats
    for record in repeats:
        earlier = records[record["repeat_of"]]
        assert earlier["issue_id"] == record["issue_id"]
        assert order_of_arrival[earlier["order_id"]] < order_of_arrival[record["order_id"]]


def test_each_relation_is_what_it_claims_about_caller_wording_and_place():
    simulation = run("steady")
    appeals = _appeals(simulation)
    relations = Counter()
    for record in truth_of(simulation, "appeal"):
        if record["relation"] is None:
            continue
        relations[record["relation"]] += 1
        repeat, earlier = appeals[record["order_id"]]["data"], appeals[record["repeat_of"]]["data"]
        if record["relation"] == "standing_case":
            # a chronic nuisance: another resident of the same district, the same category
            assert repeat["location"]["district"] == earlier["location"]["district"] and repeat["category"] == earlier["category"]
            continue
        same_wording = (repeat["title"], repeat["text"]) == (earlier["title"], earlier["text"])
        assert repeat["location"]["address"] == earlier["location"]["address"]
        if record["relation"] == "exact_resubmission":
            assert same_wording and repeat["caller_id"] == earlier["caller_id"]
        elif record["relation"] == "same_caller_same_issue":
            assert not same_wording and repeat["text"] != earlier["text"] and repeat["caller_id"] == earlier["caller_id"]
            assert repeat["location"] == earlier["location"]
        else:
            assert repeat["text"] != earlier["text"] and repeat["caller_id"] != earlier["caller_id"]
    assert min(relations.values()) >= 10 and len(relations) == 4


def test_every_unreasonable_reason_occurs_and_emergencies_are_answered_at_once():
    simulation = run("steady")
    reasons = Counter(record["unreasonable_reason"] for record in truth_of(simulation, "appeal") if record["unreasonable"])
    assert set(reasons) == REASONS
    orders = events_by_order(simulation)
    emergencies = [record["order_id"] for record in truth_of(simulation, "appeal") if record["unreasonable_reason"] == "emergency_service"]
    for order_id in emergencies:
        assert [event["type"] for event in orders[order_id]][:2] == ["appeal.received", "appeal.answered"]
        assert orders[order_id][0]["data"]["urgency"] == "emergency"


def test_frequent_callers_call_often_about_unrelated_issues():
    simulation = run("steady")
    appeals = _appeals(simulation)
    frequent = [record for record in truth_of(simulation, "appeal") if record["unreasonable_reason"] == "frequent_caller"]
    calls_per_caller = Counter(appeals[record["order_id"]]["data"]["caller_id"] for record in frequent)
    assert len(calls_per_caller) == 5 and min(calls_per_caller.values()) >= 14  # two a day at least, for 7 days
    assert len({record["issue_id"] for record in frequent}) == len(frequent)


def test_steady_city_has_no_overloaded_office_and_no_special_order():
    simulation = run("steady")
    assert truth_of(simulation, "overload") == [] and truth_of(simulation, "order") == []


def test_some_texts_carry_phone_and_valid_id_card_numbers_that_redaction_removes():
    texts = [event["data"]["text"] for event in run("steady").events if event["type"] == "appeal.received"]
    id_numbers = [number for text in texts for number in re.findall(r"\d{17}[\dX]", text)]
    phones = [number for text in texts for number in re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)]
    assert len(id_numbers) >= 10 and len(phones) >= 20
    assert all(id_check_character(number[:17]) == number[17] for number in id_numbers)
    assert all(not re.search(r"\d{11}", redact(text)) for text in texts)


def test_texts_are_chinese_and_rewordings_of_one_issue_differ():
    simulation = run("repeat-storm")
    appeals = _appeals(simulation)
    records = truth_of(simulation, "appeal")
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert all(chinese.search(event["data"]["title"]) for event in appeals.values())
    assert all(chinese.search(appeals[record["order_id"]]["data"]["text"]) for record in records if record["unreasonable_reason"] not in ("non_actionable", "no_content"))
    # given the storm's reworded appeals (every repeat except exact resubmissions)
    storm_issue = Counter(record["issue_id"] for record in records).most_common(1)[0][0]
    reworded = [appeals[record["order_id"]]["data"]["text"] for record in records if record["issue_id"] == storm_issue and record["relation"] != "exact_resubmission"]
    # then nearly all of them are worded differently
    assert len(reworded) > 50 and len(set(reworded)) >= 0.9 * len(reworded)

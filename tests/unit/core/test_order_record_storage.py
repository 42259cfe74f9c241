"""The orders table's stored record: compact, versioned, and read back into the same future.

A record stored and read back, or read from the unversioned layout of an older
changelog, must lead to byte-identical outputs for every later event and due check.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from hotline.contract import codec
from hotline.core import deadlines, order_flow

from support.record_scenario import AFTER_STORE, APPEAL, BEFORE_STORE, DISPATCH, RULES, START, run

UNVERSIONED = json.loads((Path(__file__).parent / "fixtures" / "order_record_v1.json").read_text(encoding="utf-8"))
RETENTION = timedelta(days=14)


def published(steps: list[order_flow.OrderStep]) -> bytes:
    """Everything the steps publish, as the bytes the codec writes."""
    return codec.encode(
        [
            {
                "deadline_events": list(step.deadline_events),
                "proposals": [proposal.to_dict() for proposal in step.proposals],
                "proposal_merge_at": [at.isoformat() for at in step.proposal_merge_at],
                "damped": [repr(damped) for damped in step.damped],
                "facts": [fact.__dict__ for fact in step.facts],
                "fact_keys": list(step.fact_keys),
                "fact_merge_at": list(step.fact_merge_at),
            }
            for step in steps
        ]
    )


def stored_and_read_back(record: order_flow.OrderRecord) -> order_flow.OrderRecord:
    encoded = codec.encode(order_flow.table_value(record, 5, RETENTION))
    return order_flow.record_of(codec.decode(encoded))


def test_a_stored_record_leads_to_the_same_outputs_as_the_one_kept_in_memory():
    # given an order taken through a transfer, a suspension, an extension and a breach
    _, record = run(BEFORE_STORE)
    # when it is stored and read back, and both go on through the same later events
    kept_steps, kept = run(AFTER_STORE, record)
    read_steps, read = run(AFTER_STORE, stored_and_read_back(record))
    # then they publish the same bytes and end in the same stored record
    assert published(read_steps) == published(kept_steps)
    assert read.to_dict() == kept.to_dict()
    assert sum(len(step.deadline_events) for step in read_steps) == 12


def test_a_record_read_back_after_every_step_publishes_what_one_kept_in_memory_does():
    kept_steps, kept = run(BEFORE_STORE + AFTER_STORE)
    read_steps, record = [], None
    for action in BEFORE_STORE + AFTER_STORE:
        read_steps += run([action], record)[0]
        record = stored_and_read_back(read_steps[-1].record)
    assert published(read_steps) == published(kept_steps)
    assert record.order == kept.order and record.to_dict() == kept.to_dict()


def test_a_record_of_the_unversioned_layout_loads_and_continues_as_before():
    # given the table value an older worker wrote (no version field) after BEFORE_STORE
    old_value = UNVERSIONED["open"]
    assert "v" not in old_value and "v" not in old_value["record"]
    # when it is read and continued
    read = order_flow.record_of(old_value)
    read_steps, read_end = run(AFTER_STORE, read)
    # then it is the record kept in memory, and goes on to the same outputs
    _, record = run(BEFORE_STORE)
    kept_steps, kept_end = run(AFTER_STORE, record)
    assert read.order == record.order
    assert read.to_dict() == record.to_dict()
    assert published(read_steps) == published(kept_steps)
    assert read_end.to_dict() == kept_end.to_dict()


def test_the_upcaster_turns_the_unversioned_layout_into_layout_2():
    upcast = order_flow.upcast_unversioned(UNVERSIONED["open"]["record"])
    _, record = run(BEFORE_STORE)
    assert upcast == record.to_dict()
    assert upcast["v"] == 2 and upcast["o"] == "o-7"
    assert upcast["x"][0] == ["~-01", 0, int(START.timestamp()), {"c": "noise", "d": "临江区", "h": "phone", "u": "urgent"}]


def test_index_instants_are_read_from_either_layout_without_the_record():
    # given a waiting order stored by an older worker and the same order stored now
    old_value = UNVERSIONED["waiting"]
    appeal = order_flow.on_screened_event(None, APPEAL, None, RULES, awaits_link=True)
    held = order_flow.on_screened_event(appeal.record, DISPATCH, START, RULES, position=("hotline.screened.v1", 2, 41))
    new_value = order_flow.table_value(held.record, 2, RETENTION)
    # then both give the partition and the wait, and no due check while it waits
    expected = order_flow.TableIndex(partition=2, next_check_at=None, link_wait_since=START, forget_at=None)
    assert order_flow.table_index(old_value) == expected
    assert order_flow.table_index(new_value) == expected
    assert order_flow.record_of(old_value) == held.record == order_flow.record_of(new_value)


def test_the_open_order_of_the_scenario_is_stored_in_under_a_kilobyte():
    _, record = run(BEFORE_STORE)
    old_size = len(codec.encode(UNVERSIONED["open"]))
    new_size = len(codec.encode(order_flow.table_value(record, 5, RETENTION)))
    assert new_size < 1024 < old_size


def test_ids_with_the_abbreviation_mark_are_stored_in_full():
    # given an order whose input ids hold a "~" of their own
    def renamed(event: dict) -> dict:
        return {**event, "caused_by": event["caused_by"].replace("-0", "~")}

    steps, record = run([(renamed(event) if event else None, watermark) for event, watermark in BEFORE_STORE])
    stored = record.to_dict()
    # then the ids are written out, and read back as they were
    assert stored["a"] == 0 and stored["x"][0][0] == "o-7~1"
    assert order_flow.OrderRecord.from_dict(stored).to_dict() == stored
    assert order_flow.OrderRecord.from_dict(stored).order == record.order


def test_a_layout_from_a_newer_version_is_refused():
    _, record = run(BEFORE_STORE)
    with pytest.raises(ValueError, match="layout version 3"):
        order_flow.OrderRecord.from_dict({**record.to_dict(), "v": 3})


def test_the_order_view_shows_what_the_unversioned_layout_held():
    # given the unversioned value, which held the derived state and the clocks themselves
    for name in ("open", "waiting"):
        old_record = UNVERSIONED[name]["record"]
        # when the view is built from the record read back
        view = order_flow.order_view(order_flow.record_of(UNVERSIONED[name]), RULES.tracker.policy)
        # then it shows the state, clocks, escalations and repeats the old layout held
        assert view == {
            "order": {key: value for key, value in old_record["order"].items() if key not in ("facts", "base", "compacted_ids")},
            "deadlines": old_record["deadlines"],
            "escalations": old_record["escalations"],
            "repeat_count": old_record["repeat_count"],
        }


def test_emitted_deadline_kinds_are_stored_by_clock_with_short_codes():
    fired = frozenset({"o-7:sign_for:o-7-02|deadline.warning:0.5", "o-7:sign_for:o-7-02|deadline.met", "o-7:resolution:o-7-02|deadline.breached"})
    grouped = deadlines.fired_by_clock(fired)
    assert grouped == {"o-7:resolution:o-7-02": ["b"], "o-7:sign_for:o-7-02": ["m", "0.5"]}
    assert deadlines.fired_from_clocks(grouped) == fired


def test_a_fired_key_of_no_deadline_kind_is_refused():
    with pytest.raises(ValueError, match="names no deadline kind"):
        deadlines.fired_by_clock(frozenset({"o-7:sign_for:o-7-02|escalation.raised"}))

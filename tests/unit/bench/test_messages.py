"""Kafka messages per input event, from every topic's end offsets before and after a drain."""

from __future__ import annotations

from hotline.bench import report, stats

APP = "bench-1a2b3c4d-pipeline-1w"
INPUTS = ("hotline.events.v1", "hotline.offices.v1")


def test_topic_names_are_classified_by_who_writes_them():
    kinds = {
        name: stats.topic_kind(name, APP, INPUTS)
        for name in (
            "hotline.events.v1",
            "hotline.offices.v1",
            "hotline.screened.v1",
            "hotline.deadletter.v1",
            f"{APP}-appeals-by-place",
            f"{APP}-orders-changelog",
            f"{APP}-__assignor-__leader",
            "bench-1a2b3c4d-pipeline-2w-orders-changelog",
            "bench-1a2b3c4d-forward-__assignor-__leader",
            "hotline-bench-passthrough",
        )
    }
    assert kinds == {
        "hotline.events.v1": "input",
        "hotline.offices.v1": "input",
        "hotline.screened.v1": "derived",
        "hotline.deadletter.v1": "derived",
        f"{APP}-appeals-by-place": "stage_to_stage",
        f"{APP}-orders-changelog": "changelog",
        f"{APP}-__assignor-__leader": "stage_to_stage",
        "bench-1a2b3c4d-pipeline-2w-orders-changelog": None,
        "bench-1a2b3c4d-forward-__assignor-__leader": None,
        "hotline-bench-passthrough": None,
    }


def test_messages_per_input_event_count_what_each_kind_of_topic_gained():
    # given the end offsets before and after 1 000 input events were drained
    before = {
        "hotline.events.v1": 5_000,
        "hotline.offices.v1": 40,
        "hotline.screened.v1": 4_900,
        "hotline.cases.v1": 800,
        f"{APP}-appeals-by-place": 0,
        "hotline-bench-passthrough": 5_000,
    }
    after = {
        "hotline.events.v1": 6_000,
        "hotline.offices.v1": 40,
        "hotline.screened.v1": 5_880,
        "hotline.cases.v1": 1_050,
        "hotline.deadlines.v1": 370,
        f"{APP}-appeals-by-place": 250,
        f"{APP}-clock-ticks": 130,
        f"{APP}-orders-changelog": 1_400,
        f"{APP}-cases-changelog": 250,
        "hotline-bench-passthrough": 6_000,
    }
    read = ("hotline.events.v1", "hotline.cases.v1", f"{APP}-appeals-by-place", f"{APP}-clock-ticks", f"{APP}-order-rates")
    accounting = stats.message_accounting(before, after, APP, INPUTS, 1_000, read)
    # then each kind is the sum of its topics' growth, per input event too
    assert accounting["input_topic_messages"] == 1_000
    # and what the workers read is the growth of the topics they consume
    assert accounting["read"] == {"messages": 1_000 + 250 + 250 + 130, "per_input_event": 1.63}
    assert accounting["messages"] == {"derived": 1_600, "stage_to_stage": 380, "changelog": 1_650, "total": 3_630}
    assert accounting["per_input_event"] == {"derived": 1.6, "stage_to_stage": 0.38, "changelog": 1.65, "total": 3.63}
    # and topics that did not grow, or that the app does not write, are left out
    assert accounting["by_topic"] == {
        f"{APP}-appeals-by-place": {"kind": "stage_to_stage", "messages": 250},
        f"{APP}-cases-changelog": {"kind": "changelog", "messages": 250},
        f"{APP}-clock-ticks": {"kind": "stage_to_stage", "messages": 130},
        f"{APP}-orders-changelog": {"kind": "changelog", "messages": 1_400},
        "hotline.cases.v1": {"kind": "derived", "messages": 250},
        "hotline.deadlines.v1": {"kind": "derived", "messages": 370},
        "hotline.events.v1": {"kind": "input", "messages": 1_000},
        "hotline.screened.v1": {"kind": "derived", "messages": 980},
    }


def test_message_rows_name_the_apps_topics_by_their_suffix():
    before = {"hotline.events.v1": 0, "hotline.screened.v1": 0}
    after = {"hotline.events.v1": 200, "hotline.screened.v1": 200, f"{APP}-orders-changelog": 300}
    accounting = {**stats.message_accounting(before, after, APP, INPUTS, 200, ("hotline.events.v1",)), "all_stages_drained": False}
    assert report.message_rows("1 worker", accounting) == [
        ("messages", "1 worker: per input event, derived / stage-to-stage / changelog = total", "1.00 / 0.00 / 1.50 = 2.50 (stages not drained: a lower bound)"),
        ("messages", "1 worker: read by the workers per input event (each a hop)", "1.00 (stages not drained: a lower bound)"),
        ("messages", "1 worker: <app>-orders-changelog (changelog)", "300 (1.50 per input event)"),
        ("messages", "1 worker: hotline.events.v1 (input)", "200 (1.00 per input event)"),
        ("messages", "1 worker: hotline.screened.v1 (derived)", "200 (1.00 per input event)"),
    ]

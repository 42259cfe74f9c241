"""Offline evaluation: the screen → rules → dedupe chain over an event file, scored
against truth records (hand-made here; the simulator writes the same format)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from click.testing import CliRunner

from hotline.cli.evaluate_commands import evaluate_group
from hotline.core.dedupe import CaseDecision
from hotline.core.screen_rules import Verdict
from hotline.evaluation.pipeline import OfflineRun, run_offline
from hotline.evaluation.scoring import read_truth, score
from hotline.rules import load_dedupe_settings, load_screening_rules

CITY_DISTRICT = "江北区"  # one of the shipped config's districts


def _appeal(order_id: str, minute: int, caller: str, text: str, community: str = "春晖社区", category: str = "noise",
            address: str = "江北区中山路12号春晖家园3栋1单元") -> dict:
    return {
        "event_id": f"sim:{order_id}:appeal.received",
        "type": "appeal.received",
        "order_id": order_id,
        "occurred_at": f"2026-01-05T09:{minute:02d}:00+08:00",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": caller,
            "title": text[:8],
            "text": text,
            "category": category,
            "urgency": "normal",
            "location": {"district": CITY_DISTRICT, "street": "和平街道", "community": community, "address": address},
        },
    }


BARBECUE = "楼下烧烤店每天营业到凌晨两点，油烟和吆喝声很大，严重影响休息。"
BARBECUE_NEIGHBOUR = "楼下烧烤店每天营业到凌晨两点，吆喝声和油烟很大，严重影响居民休息。"
RUBBISH = "小区门口的垃圾桶好几天没人清运，臭气熏天，苍蝇特别多。"
EVENTS = [
    _appeal("A1", 0, "13800000001", BARBECUE),
    _appeal("A2", 5, "13800000001", BARBECUE),  # exact resubmission of A1
    _appeal("A3", 10, "13800000002", BARBECUE_NEIGHBOUR),  # neighbour, same issue
    _appeal("A4", 15, "13800000003", RUBBISH, category="sanitation"),  # a new issue
    _appeal("A5", 20, "13800000004", "喂？喂？听得见吗？……算了。", category="other"),  # nothing to act on
    _appeal("A6", 25, "13800000005", RUBBISH, community="锦园社区", category="sanitation", address="江北区人民路8号锦园2栋"),  # truth: repeat of A4, elsewhere
]
RESENT = EVENTS[1]
TRUTH = [
    {"kind": "issue", "issue_id": "I1"},
    {"kind": "appeal", "order_id": "A1", "issue_id": "I1", "repeat_of": None, "relation": None, "unreasonable": False, "unreasonable_reason": None},
    {"kind": "appeal", "order_id": "A2", "issue_id": "I1", "repeat_of": "A1", "relation": "exact_resubmission", "unreasonable": False, "unreasonable_reason": None},
    {"kind": "appeal", "order_id": "A3", "issue_id": "I1", "repeat_of": "A1", "relation": "other_caller_same_issue", "unreasonable": False, "unreasonable_reason": None},
    {"kind": "appeal", "order_id": "A4", "issue_id": "I2", "repeat_of": None, "relation": None, "unreasonable": False, "unreasonable_reason": None},
    {"kind": "appeal", "order_id": "A5", "issue_id": "I3", "repeat_of": None, "relation": None, "unreasonable": True, "unreasonable_reason": "no_content"},
    {"kind": "appeal", "order_id": "A6", "issue_id": "I2", "repeat_of": "A4", "relation": "other_caller_same_issue", "unreasonable": False, "unreasonable_reason": None},
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    events = tmp_path / "events.jsonl"
    truth = tmp_path / "truth.jsonl"
    events.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in [*EVENTS, RESENT]))
    truth.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in TRUTH))
    return events, truth


def test_offline_run_links_repeats_skips_resent_events_and_rejected_appeals(tmp_path: Path):
    events, _ = _write(tmp_path)
    run = run_offline(events.read_bytes().splitlines(), load_screening_rules(), load_dedupe_settings())
    assert (run.events_read, run.appeals, run.resent_events, run.dead_letters) == (7, 6, 1, 0)
    assert {order: (d.relation, d.case_id) for order, d in run.decisions.items()} == {
        "A1": (None, "A1"),
        "A2": ("exact_resubmission", "A1"),
        "A3": ("other_caller_same_issue", "A1"),
        "A4": (None, "A4"),
        "A6": (None, "A6"),
    }
    assert run.verdicts["A5"].reasons == ("no_content",)
    assert run.final_index_size == 5


def test_scores_count_links_by_true_relation_and_flags_by_reason(tmp_path: Path):
    events, _ = _write(tmp_path)
    run = run_offline(events.read_bytes().splitlines(), load_screening_rules(), load_dedupe_settings())
    scores = score(run, read_truth(TRUTH))
    rows = {row.relation: (row.truth_repeats, row.recalled, row.predicted_links, row.correct_links) for row in scores.links}
    assert rows == {
        "exact_resubmission": (1, 1, 1, 1),
        "same_caller_same_issue": (0, 0, 0, 0),
        "other_caller_same_issue": (2, 1, 1, 1),
        "standing_case": (0, 0, 0, 0),
        "none": (0, 0, 0, 0),
    }
    overall = scores.overall_links
    assert (overall.precision, overall.recall) == (1.0, 2 / 3)
    flags = {row.reason: (row.truth_count, row.predicted, row.correct) for row in scores.flags}
    assert flags["no_content"] == (1, 1, 1)
    assert flags["non_actionable"] == (0, 0, 0)
    assert flags["any"] == (1, 1, 1)
    assert flags["emergency_service"] == (0, 0, 0)


def test_a_wrong_link_lowers_precision_of_the_true_relation_row():
    # given B2 linked to B1 although they are different issues and B2 repeats nothing
    run = OfflineRun(
        verdicts={"B1": Verdict("accepted"), "B2": Verdict("accepted")},
        decisions={"B1": CaseDecision("e1", "B1", "B1", 0.0), "B2": CaseDecision("e2", "B2", "B1", 60.0, "other_caller_same_issue", 0.5, "B1", ("B1",))},
    )
    truth = read_truth([
        {"kind": "appeal", "order_id": "B1", "issue_id": "X", "repeat_of": None, "relation": None, "unreasonable": False, "unreasonable_reason": None},
        {"kind": "appeal", "order_id": "B2", "issue_id": "Y", "repeat_of": None, "relation": None, "unreasonable": False, "unreasonable_reason": None},
    ])
    scores = score(run, truth)
    none_row = next(row for row in scores.links if row.relation == "none")
    assert (none_row.predicted_links, none_row.correct_links, none_row.precision) == (1, 0, 0.0)
    assert (scores.overall_links.precision, scores.overall_links.recall) == (0.0, None)


def test_cli_prints_the_figures_as_json(tmp_path: Path):
    events, truth = _write(tmp_path)
    result = CliRunner().invoke(evaluate_group, ["dedupe", "--events", str(events), "--truth", str(truth), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["links_overall"]["precision"] == 1.0
    assert document["links_overall"]["truth_repeats"] == 3
    assert document["appeals"] == 6
    assert document["appeals_per_second"] > 0


def test_cli_prints_tables(tmp_path: Path):
    events, truth = _write(tmp_path)
    result = CliRunner().invoke(evaluate_group, ["dedupe", "--events", str(events), "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    assert "Repeat links" in result.output
    assert "appeals/s" in result.output


def test_cli_names_a_broken_config_file_and_field(tmp_path: Path):
    events, truth = _write(tmp_path)
    broken = tmp_path / "dedupe.toml"
    broken.write_text("[index]\nnum_perm = 128\n", encoding="utf-8")
    result = CliRunner().invoke(evaluate_group, ["dedupe", "--events", str(events), "--truth", str(truth), "--dedupe-config", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}: index.ngram_sizes: is missing" in result.output

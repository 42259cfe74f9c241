"""Real 311 exports (NYC and Boston, with their own due times) through the importers and a
real worker on a broker of its own: deadline outcomes against the sources' clocks and
labels, and Boston's 20 exact duplicate rows found as resubmissions."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.contract import codec, topics
from hotline.core.timeutil import parse_rfc3339
from support.kafka import read_all

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
CONFIG = Path(__file__).resolve().parents[2] / "config"
HOTLINE = str(Path(sys.executable).with_name("hotline"))


def _import(source: str, csv_file: Path) -> list[bytes]:
    result = subprocess.run([HOTLINE, "import", source, str(csv_file)], capture_output=True, check=True, timeout=120)
    return [line for line in result.stdout.splitlines() if line.strip()]


def _import_all() -> list[bytes]:
    # NYC rows (2010-2020) before Boston's (2022): each partition's event time only moves forward.
    return _import("nyc311", REAL / "nyc311-100.csv") + _import("boston311", REAL / "boston311-100-20dupes-random.csv")


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory) -> dict[str, str]:
    """The shipped rules, with a jurisdiction.toml naming these two cities and the
    districts (boroughs, neighbourhoods) their rows name, as a deployment writes it."""
    profile = tmp_path_factory.mktemp("config")
    districts = sorted({e["data"]["location"].get("district") for e in map(codec.decode, _import_all()) if e["type"] == "appeal.received"} - {None})
    (profile / "jurisdiction.toml").write_text(
        '[jurisdiction]\ncity = "New York / Boston"\ndistricts = ' + json.dumps(districts, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return {"HOTLINE_CONFIG_DIR": f"{profile}{os.pathsep}{CONFIG}"}


@pytest.fixture(scope="module")
def run(isolated_pipeline):
    lines = _import_all()
    replayed = b"\n".join(lines) + b"\n"
    isolated_pipeline.hotline("replay", "--quiet", "-", stdin=replayed)
    isolated_pipeline.finish_replay(replayed)
    events = [codec.decode(line) for line in lines]
    deadlines = [codec.decode(r.value) for r in read_all(topics.DEADLINES.name, servers=isolated_pipeline.servers)]
    cases = [codec.decode(r.value) for r in read_all(topics.CASES.name, servers=isolated_pipeline.servers)]
    return events, deadlines, cases


def _resolution_outcomes(deadlines: list[dict]) -> dict[str, str]:
    return {
        d["order_id"]: d["type"].removeprefix("deadline.")
        for d in deadlines
        if d["target"] == "resolution" and d["type"] in ("deadline.met", "deadline.breached")
    }


def test_every_closed_order_with_a_source_due_time_is_met_or_breached_as_closed_after_due_says(run):
    events, deadlines, _ = run
    due = {e["order_id"]: e["data"]["due_at"] for e in events if e["type"] == "appeal.received" and e["data"].get("due_at")}
    resolved = {e["order_id"]: e["occurred_at"] for e in events if e["type"] == "order.resolved"}
    expected = {
        order_id: "breached" if parse_rfc3339(resolved[order_id]) > parse_rfc3339(due_at) else "met"
        for order_id, due_at in due.items()
        if order_id in resolved
    }
    outcomes = _resolution_outcomes(deadlines)
    assert len(expected) == 117  # 41 NYC + 76 Boston closed orders with a due time
    assert {order_id: outcomes.get(order_id) for order_id in expected} == expected


def test_boston_ontime_and_overdue_labels_agree_with_the_outcome_of_every_closed_case(run):
    _, deadlines, _ = run
    outcomes = _resolution_outcomes(deadlines)
    seen: dict[str, int] = {}
    compared = 0
    with (REAL / "boston311-100-20dupes-random.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            case_id = row["case_enquiry_id"]
            seen[case_id] = seen.get(case_id, 0) + 1
            order_id = case_id if seen[case_id] == 1 else f"{case_id}~{seen[case_id]}"
            if row["case_status"] != "Closed" or not row["target_dt"]:
                continue
            compared += 1
            assert outcomes[order_id] == ("met" if row["ontime"] == "ONTIME" else "breached"), order_id
    assert compared == 76


def test_boston_exact_duplicate_rows_are_found_as_resubmissions_with_no_false_link(run):
    events, _, cases = run
    links = [c for c in cases if c["type"] == "case.linked"]
    pairs = {frozenset((c["order_id"], c["matched_order_id"])) for c in links}
    # A duplicate row and its original carry the same instant, so either may reach the
    # dedupe stage first: the pair is linked, in one direction or the other.
    duplicate_pairs = {pair for pair in pairs if len({order.removesuffix("~2") for order in pair}) == 1}
    assert len(duplicate_pairs) == 20
    assert {c["relation"] for c in links} == {"exact_resubmission"}
    # Every other link joins two rows that are the same report: same title, text and address.
    appeals = {e["order_id"]: e["data"] for e in events if e["type"] == "appeal.received"}
    for pair in pairs - duplicate_pairs:
        first, second = (appeals[order] for order in pair)
        assert (first["title"], first["text"], first["location"].get("address")) == (
            second["title"],
            second["text"],
            second["location"].get("address"),
        )
    # Litter reported at one address on 1 and 2 January stays two cases: litter is no
    # defect fixed to one spot (config/dedupe.toml), and these rows carry no free text.
    assert len(pairs) - len(duplicate_pairs) == 0


def test_no_appeal_of_a_real_export_is_rejected_under_a_configured_jurisdiction(run, isolated_pipeline):
    # Given the shipped rules and a jurisdiction naming the exports' cities and districts
    events, _, _ = run
    appeals = {e["order_id"] for e in events if e["type"] == "appeal.received"}
    # When the worker has screened every appeal of the two real exports
    screened = [codec.decode(r.value) for r in read_all(topics.SCREENED.name, servers=isolated_pipeline.servers)]
    verdicts = {s["order_id"]: s["verdict"] for s in screened if s["type"] == "appeal.received"}
    # Then each got a verdict, none is rejected and none is judged outside the jurisdiction
    assert set(verdicts) == appeals
    assert [order for order, verdict in verdicts.items() if verdict["status"] == "rejected"] == []
    assert [order for order, verdict in verdicts.items() if "outside_jurisdiction" in verdict["reasons"]] == []
    # And the worker said at start-up which jurisdiction it applies
    assert "hotline worker: jurisdiction New York / Boston (" in isolated_pipeline.worker.log_text()

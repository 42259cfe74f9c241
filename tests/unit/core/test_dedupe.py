"""Dedupe links each appeal to the case it repeats, or opens a case, deterministically."""

from __future__ import annotations

import copy
from dataclasses import replace
import re
from pathlib import Path

import pytest

from hotline.configfiles import SHIPPED_CONFIG_DIR, default_config_dir, load_toml
from hotline.contract.schemas import topic_validator
from hotline.core.config_tables import ConfigFileError
from hotline.core.dedupe import (
    CaseDecision,
    CaseIndex,
    IndexEntry,
    dedupe_settings_from_table,
    jaccard_ratio,
    place_key,
    repeat_count_of,
    shared_title_run,
    shingles,
)
from hotline.core.ids import derived_event_id
from hotline.core.screen_rules import Appeal, content_characters
from hotline.rules import load_dedupe_settings

HOUR = 3600.0
DAY = 24 * HOUR
T0 = 1767574800.0  # 2026-01-05T01:00:00Z

SETTINGS_TABLE = {
    "index": {"num_perm": 128, "seed": 7, "ngram_sizes": [2, 3], "lsh_threshold": 0.3, "max_candidates": 50, "max_entries": 1000},
    "linking": {"skip_verdicts": ["rejected"], "max_earlier_order_ids": 5},
    "exact_resubmission": {"window_seconds": 7 * DAY},
    "same_caller_same_issue": {"window_seconds": 30 * DAY, "min_similarity_ratio": 0.3, "nearby_meters": 500, "require_same_category": True},
    "other_caller_same_issue": {
        "window_seconds": 7 * DAY,
        "same_address_min_similarity_ratio": 0.3,
        "same_address_requires_same_category": True,
        "same_area_min_similarity_ratio": 0.45,
        "same_area_levels": ["community"],
    },
    "resend_detection": {"window_seconds": 7 * DAY, "max_entries": 1000},
}
SETTINGS = dedupe_settings_from_table(SETTINGS_TABLE, "test-dedupe.toml")

BARBECUE = "楼下烧烤店 楼下烧烤店每天营业到凌晨两点，油烟和吆喝声很大，严重影响休息。"
BARBECUE_REWORDED = "烧烤店噪音 楼下那家烧烤店天天营业到凌晨两点，吆喝声很大，油烟也大，影响休息。"
BARBECUE_NEIGHBOUR = "楼下烧烤店扰民 楼下烧烤店每天营业到凌晨两点，吆喝声和油烟很大，严重影响居民休息。"
RUBBISH = "垃圾桶满了 小区门口的垃圾桶好几天没人清运，臭气熏天。"


def appeal(order_id: str, words: str, *, caller: str | None = "c_caller1", at: float = T0, district: str = "天河区",
           street: str = "石牌街道", community: str = "华师社区", address: str = "", category: str = "noise") -> Appeal:
    title, text = words.split(" ", 1)
    return Appeal(order_id, f"src:{order_id}", at, title, text, category, "normal", caller, district, street, community, address)


def similarity(left: str, right: str) -> float:
    return round(jaccard_ratio(shingles(content_characters(left), (2, 3)), shingles(content_characters(right), (2, 3))), 4)


def test_first_appeal_opens_a_case_named_after_its_order():
    # given an empty index / when the first appeal arrives
    decision = CaseIndex(SETTINGS).link(appeal("GD-1", BARBECUE))
    # then it opens its own case, and the record is a valid hotline.cases.v1 message
    event = decision.to_event()
    assert event == {
        "event_id": derived_event_id("src:GD-1", "case.opened"),
        "caused_by": "src:GD-1",
        "type": "case.opened",
        "occurred_at": "2026-01-05T01:00:00Z",
        "schema": 1,
        "case_id": "GD-1",
        "order_id": "GD-1",
        "relation": None,
        "similarity": None,
        "matched_order_id": None,
        "earlier_order_ids": [],
        "repeat_count": 0,
    }
    assert topic_validator("hotline.cases.v1").validate(event) is None


def test_exact_resubmission_by_the_same_caller_is_linked_to_the_case():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    # when the same caller sends the same words (spacing and full-width aside) two hours later
    resent = BARBECUE.replace("，", "， ").replace("。", "!")
    decision = index.link(appeal("GD-2", resent, at=T0 + 2 * HOUR, community="", street=""))
    assert decision == CaseDecision("src:GD-2", "GD-2", "GD-1", T0 + 2 * HOUR, "exact_resubmission", 1.0, "GD-1", ("GD-1",))
    assert topic_validator("hotline.cases.v1").validate(decision.to_event()) is None


def test_reworded_repeat_by_the_same_caller_is_linked_to_the_case():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + 3 * DAY))
    assert similarity(BARBECUE, BARBECUE_REWORDED) == 0.3409
    assert decision == CaseDecision("src:GD-2", "GD-2", "GD-1", T0 + 3 * DAY, "same_caller_same_issue", 0.3409, "GD-1", ("GD-1",))


def test_same_caller_with_an_unrelated_issue_opens_a_new_case():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", RUBBISH, at=T0 + HOUR, category="sanitation"))
    assert decision == CaseDecision("src:GD-2", "GD-2", "GD-2", T0 + HOUR)


def test_neighbour_reporting_the_same_issue_in_the_same_community_is_linked():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", BARBECUE_NEIGHBOUR, caller="c_neighbour", at=T0 + DAY))
    assert similarity(BARBECUE, BARBECUE_NEIGHBOUR) == 0.4815
    assert decision == CaseDecision("src:GD-2", "GD-2", "GD-1", T0 + DAY, "other_caller_same_issue", 0.4815, "GD-1", ("GD-1",))


def test_other_caller_with_similar_text_in_another_community_opens_a_new_case():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", BARBECUE_NEIGHBOUR, caller="c_neighbour", at=T0 + DAY, community="五山社区"))
    assert decision.type == "case.opened"
    assert decision.case_id == "GD-2"


def test_other_caller_in_the_same_community_with_another_category_opens_a_new_case():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", BARBECUE_NEIGHBOUR, caller="c_neighbour", at=T0 + DAY, category="environment"))
    assert decision.case_id == "GD-2"


def test_same_address_links_other_callers_with_less_similar_text_than_the_area_needs():
    # given a neighbour at the same address wording the complaint differently
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE, address="华师路12号"))
    decision = index.link(appeal("GD-2", BARBECUE_REWORDED, caller="c_neighbour", at=T0 + DAY, community="", address="华师路12号"))
    # then 0.3409 is enough at the same address (0.3) though not in the same community (0.45)
    assert (decision.relation, decision.similarity_ratio, decision.case_id) == ("other_caller_same_issue", 0.3409, "GD-1")
    elsewhere = index.link(appeal("GD-3", BARBECUE_REWORDED, caller="c_far", at=T0 + DAY, address="华师路30号"))
    assert elsewhere.case_id == "GD-3"


def test_same_address_in_another_category_is_another_issue():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE, address="华师路12号"))
    decision = index.link(appeal("GD-2", BARBECUE_NEIGHBOUR, caller="c_neighbour", at=T0 + DAY, community="", address="华师路12号", category="environment"))
    assert decision.case_id == "GD-2"


def test_same_caller_in_another_category_is_another_issue():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + DAY, category="environment"))
    assert decision.case_id == "GD-2"


def test_repeat_of_a_repeat_joins_the_first_case_and_lists_all_matches():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + DAY))
    decision = index.link(appeal("GD-3", BARBECUE_REWORDED, at=T0 + 2 * DAY))
    # the exact resubmission of GD-2 is the strongest match; GD-1 matched too
    assert decision == CaseDecision("src:GD-3", "GD-3", "GD-1", T0 + 2 * DAY, "exact_resubmission", 1.0, "GD-2", ("GD-1", "GD-2"))


def test_repeat_after_the_window_opens_a_new_case():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE_NEIGHBOUR, caller="c_first"))
    decision = index.link(appeal("GD-2", BARBECUE, caller="c_second", at=T0 + 8 * DAY))
    assert decision.case_id == "GD-2"


def test_appeals_in_other_districts_are_never_candidates():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    decision = index.link(appeal("GD-2", BARBECUE, at=T0 + HOUR, district="海珠区"))
    assert decision.case_id == "GD-2"


def test_appeals_without_caller_link_by_place_only():
    # given 311-style appeals that record no caller
    index = CaseIndex(SETTINGS)
    index.link(appeal("NYC-1", BARBECUE, caller=None, address="350 5th ave"))
    # the same words at the same address are an exact resubmission
    same_place = index.link(appeal("NYC-2", BARBECUE, caller=None, at=T0 + HOUR, community="", address="350 5th ave"))
    # the same words at another place with no community in common are a new case
    elsewhere = index.link(appeal("NYC-3", BARBECUE, caller=None, at=T0 + HOUR, street="", community="", address="1 main st"))
    assert (same_place.relation, same_place.case_id) == ("exact_resubmission", "NYC-1")
    assert (elsewhere.relation, elsewhere.case_id) == (None, "NYC-3")


def test_linking_the_same_event_twice_returns_the_same_decision_and_changes_nothing():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE))
    first = index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + DAY))
    entries = index.to_entries()
    again = index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + DAY))
    assert again == first
    assert again.to_event()["event_id"] == first.to_event()["event_id"]
    assert index.to_entries() == entries
    assert index.size == 2


def test_purge_forgets_appeals_older_than_the_longest_window():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE, at=T0))
    index.link(appeal("GD-2", RUBBISH, at=T0 + 10 * DAY, category="sanitation"))
    # when the watermark passes 30 days after GD-1 but not after GD-2
    forgotten = index.purge(T0 + 30 * DAY + 1)
    assert forgotten == ("GD-1",)
    assert index.size == 1
    assert index.entry("GD-1") is None
    # then the same caller's barbecue complaint is a new case: nothing is left to match
    assert index.link(appeal("GD-3", BARBECUE, at=T0 + 31 * DAY)).case_id == "GD-3"


def test_an_appeal_without_a_caller_is_forgotten_after_the_windows_other_callers_use():
    # given a 311-style appeal without a caller and a caller's appeal, the same day
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", RUBBISH, caller=None, at=T0, category="sanitation"))
    index.link(appeal("GD-2", BARBECUE, at=T0))
    # when the watermark passes the 7-day windows of other callers, but not the caller's 30 days
    forgotten = index.purge(T0 + 7 * DAY + 1)
    # then only the caller-less appeal is forgotten: no window it could be linked in is left
    assert forgotten == ("GD-1",)
    assert (index.entry("GD-1"), index.entry("GD-2") is not None) == (None, True)
    # and its stale age entry does not forget anything twice later
    assert index.purge(T0 + 30 * DAY + 1) == ("GD-2",)


def test_a_case_is_open_to_links_until_its_last_remembered_appeal_is_purged():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE, at=T0))
    repeat = index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + 5 * DAY))
    assert repeat.case_id == "GD-1"
    # when the opener leaves the window, its later repeat keeps the case
    assert index.purge(T0 + 30 * DAY + 1) == ("GD-1",)
    assert index.has_case("GD-1")
    # and once the repeat leaves too, nothing can join the case again
    assert index.purge(T0 + 35 * DAY + 1) == ("GD-2",)
    assert not index.has_case("GD-1")


def test_purge_keeps_at_most_max_entries_dropping_the_oldest():
    settings = dedupe_settings_from_table({**SETTINGS_TABLE, "index": {**SETTINGS_TABLE["index"], "max_entries": 2}}, "t.toml")
    index = CaseIndex(settings)
    for number in range(4):
        index.link(appeal(f"GD-{number}", RUBBISH, caller=f"c_{number}", at=T0 + number * HOUR, community=f"社区{number}"))
    assert index.purge(T0 + 4 * HOUR) == ("GD-0", "GD-1")
    assert index.size == 2


def test_index_rebuilt_from_its_entries_decides_like_the_original():
    original = CaseIndex(SETTINGS)
    original.link(appeal("GD-1", BARBECUE))
    original.link(appeal("GD-2", RUBBISH, caller="c_other", at=T0 + HOUR, category="sanitation"))
    rebuilt = CaseIndex.from_entries(SETTINGS, original.to_entries())
    assert rebuilt.to_entries() == original.to_entries()
    newcomer = appeal("GD-3", BARBECUE_NEIGHBOUR, caller="c_neighbour", at=T0 + DAY)
    assert rebuilt.link(newcomer) == original.link(newcomer)
    assert IndexEntry.from_json(original.to_entries()[0]).decision == CaseDecision("src:GD-1", "GD-1", "GD-1", T0)


def test_two_indexes_fed_the_same_appeals_decide_the_same():
    appeals = [
        appeal(f"GD-{n}", words, caller=f"c_{n % 3}", at=T0 + n * HOUR)
        for n, words in enumerate([BARBECUE, BARBECUE_REWORDED, RUBBISH, BARBECUE_NEIGHBOUR, BARBECUE, RUBBISH])
    ]
    first, second = CaseIndex(SETTINGS), CaseIndex(SETTINGS)
    assert [first.link(a) for a in appeals] == [second.link(a) for a in appeals]


def test_place_key_is_the_district_short_name():
    assert place_key(appeal("GD-1", BARBECUE, district="天河区")) == "天河"
    assert place_key(appeal("GD-1", BARBECUE, district="天河")) == "天河"
    assert place_key(appeal("GD-1", BARBECUE, district="")) == "(unknown)"


def test_rejected_appeals_do_not_take_part_in_dedupe():
    assert SETTINGS.links("accepted") and SETTINGS.links("flagged")
    assert not SETTINGS.links("rejected")


def test_shipped_dedupe_config_loads():
    settings = load_dedupe_settings()
    assert settings.lsh_threshold <= settings.other_caller.same_area_min_similarity_ratio
    assert settings.horizon_seconds >= settings.exact_window_seconds


def _broken(change) -> dict:
    table = copy.deepcopy(load_toml(default_config_dir() / "dedupe.toml"))
    change(table)
    return table


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda t: t["index"].pop("num_perm"), "index.num_perm", "is missing"),
        (lambda t: t["index"].update(ngram_sizes=[2, "3"]), "index.ngram_sizes[1]", "must be an integer between 1 and 8, got '3'"),
        (lambda t: t["index"].update(lsh_threshold=0.9), "index.lsh_threshold", "must not exceed other_caller_same_issue.same_area_min_similarity_ratio"),
        (lambda t: t["same_caller_same_issue"].update(require_same_category="yes"), "same_caller_same_issue.require_same_category", "expected bool, got 'yes'"),
        (lambda t: t["same_caller_same_issue"].update(min_similarity_ratio=1.5), "same_caller_same_issue.min_similarity_ratio", "must be between 0.0 and 1.0, got 1.5"),
        (lambda t: t["other_caller_same_issue"].update(same_area_levels=["city"]), "other_caller_same_issue.same_area_levels[0]", "must be one of community, street, got 'city'"),
        (lambda t: t["linking"].update(skip_verdicts=["ignored"]), "linking.skip_verdicts[0]", "must be accepted, flagged or rejected, got 'ignored'"),
    ],
)
def test_config_errors_name_the_file_and_the_field(change, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        dedupe_settings_from_table(_broken(change), "/etc/hotline/dedupe.toml")
    assert raised.value.path == "/etc/hotline/dedupe.toml"
    assert raised.value.field == field
    assert raised.value.problem.startswith(problem)


def test_missing_config_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigFileError) as raised:
        load_dedupe_settings(tmp_path / "dedupe.toml")
    assert str(raised.value) == f"{tmp_path / 'dedupe.toml'}: (file): does not exist"


# The repeat count a link carries, first time and when released again after a crash.
LINK = CaseDecision("evt-9", "GD-9", "case-GD-1", 0.0, relation="duplicate", matched_order_id="GD-1")
OPENING = CaseDecision("evt-1", "GD-1", "case-GD-1", 0.0)


def test_an_appeal_that_opens_a_case_carries_no_repeats():
    assert repeat_count_of(OPENING, None, None) == 0


def test_the_first_repeat_of_a_case_counts_one():
    assert repeat_count_of(LINK, None, None) == 1


def test_a_repeat_counts_one_more_than_the_case_had():
    assert repeat_count_of(LINK, None, {"repeat_count": 3, "counted_order_id": "GD-5"}) == 4


def test_an_appeal_released_again_carries_the_count_of_its_stored_entry():
    assert repeat_count_of(LINK, {"repeat_count": 2}, {"repeat_count": 7, "counted_order_id": "GD-12"}) == 2


def test_an_appeal_whose_case_count_was_stored_before_a_crash_is_not_counted_twice():
    # given the crash came after the case's count named this appeal but before its entry
    case_count = {"repeat_count": 4, "counted_order_id": "GD-9"}
    # then released again it carries the count it was published with
    assert repeat_count_of(LINK, None, case_count) == 4


# ---------------------------------------------------------------------------------------
# Appeals without free text, and per-category policies

RULES_TABLE = {
    **SETTINGS_TABLE,
    "category_rules": {
        "label_min_places": 3,
        "lookup_cell_meters": 200,
        "default": {"policy": "link", "radius_meters": 50, "window_seconds": 3 * DAY, "area": "district"},
        "by_category": {
            "Information Only Call": {"policy": "not_linked"},
            "Aircraft Noise": {"policy": "standing_case", "area": "district", "window_seconds": 30 * DAY},
        },
    },
}
RULES = dedupe_settings_from_table(RULES_TABLE, "test-dedupe.toml")
LAT, LON = 42.3300, -71.0500
METERS_NORTH = 1 / 111_195  # degrees of latitude per metre


def typed(order_id: str, label: str, *, meters_north: float = 0.0, at: float = T0, address: str = "", caller: str | None = None,
          category: str = "highway maintenance") -> Appeal:
    """A 311-style appeal: its title and text are its type label, nothing else."""
    return Appeal(order_id, f"src:{order_id}", at, label, label, category, "normal", caller, "Dorchester", "", "", address,
                  LAT + meters_north * METERS_NORTH, LON)


def test_pothole_reported_30_m_apart_by_another_caller_is_linked():
    # given a pothole reported from one spot
    index = CaseIndex(RULES)
    index.link(typed("P1", "request for pothole repair"))
    # when someone else reports the same type 30 m away a day later
    decision = index.link(typed("P2", "request for pothole repair", meters_north=30, at=T0 + DAY))
    # then it is linked by place, category and time, not by text
    assert (decision.relation, decision.case_id, decision.similarity_ratio, decision.distance_meters) == ("other_caller_same_issue", "P1", None, 30.0)
    assert topic_validator("hotline.cases.v1").validate(decision.to_event(repeat_count=1)) is None


def test_pothole_reported_300_m_apart_opens_its_own_case():
    index = CaseIndex(RULES)
    index.link(typed("P1", "request for pothole repair"))
    decision = index.link(typed("P2", "request for pothole repair", meters_north=300, at=T0 + HOUR))
    assert (decision.relation, decision.case_id) == (None, "P2")


def test_pothole_after_the_category_window_opens_its_own_case():
    index = CaseIndex(RULES)
    index.link(typed("P1", "request for pothole repair"))
    decision = index.link(typed("P2", "request for pothole repair", meters_north=10, at=T0 + 4 * DAY))
    assert decision.relation is None


def test_another_type_at_the_same_spot_is_another_problem():
    # given a pothole, when a broken sidewalk of the same coarse category is reported there
    index = CaseIndex(RULES)
    index.link(typed("P1", "request for pothole repair"))
    decision = index.link(typed("S1", "sidewalk repair", at=T0 + HOUR))
    # then the type labels differ, so it opens its own case
    assert decision.relation is None


def test_the_same_label_at_the_same_address_is_no_exact_resubmission():
    # given two text-less appeals of one type at one address, 200 m apart by coordinates (geocoded differently)
    index = CaseIndex(RULES)
    index.link(typed("T1", "schedule a bulk item pickup", address="1 main st", category="sanitation"))
    decision = index.link(typed("T2", "schedule a bulk item pickup", address="1 main st", meters_north=200, at=T0 + 5 * DAY, category="sanitation"))
    # when they are 5 days apart (beyond the 3-day window) then equal labels alone do not link them
    assert decision.relation is None


def test_information_only_calls_are_never_linked():
    # given information-only calls, all recorded at the call centre's address
    index = CaseIndex(RULES)
    decisions = [
        index.link(typed(f"I{number}", "information only call", address="1 city hall sq", at=T0 + number * 60, category="general"))
        for number in range(5)
    ]
    # then each stays its own case
    assert [(decision.relation, decision.case_id) for decision in decisions] == [(None, f"I{number}") for number in range(5)]


def test_aircraft_noise_joins_one_standing_case_per_area():
    # given aircraft noise calls from callers spread over one district, and one from another district
    index = CaseIndex(RULES)
    first = index.link(typed("N1", "aircraft noise", category="noise disturbance"))
    second = index.link(typed("N2", "aircraft noise", meters_north=2000, at=T0 + DAY, caller="c_x", category="noise disturbance"))
    elsewhere = index.link(replace(typed("N3", "aircraft noise", at=T0 + DAY, category="noise disturbance"), district="Roxbury"))
    # then the first opens the district's standing case, the second joins it, the third opens another one
    assert (first.relation, first.case_id) == (None, "standing:noise disturbance:dorchester")
    assert (second.relation, second.case_id, second.matched_order_id) == ("standing_case", "standing:noise disturbance:dorchester", "N1")
    assert (elsewhere.relation, elsewhere.case_id) == (None, "standing:noise disturbance:roxbury")
    for decision in (first, second, elsewhere):
        assert topic_validator("hotline.cases.v1").validate(decision.to_event(repeat_count=1 if decision.relation else 0)) is None


def test_free_text_chinese_appeals_link_as_before_with_category_rules():
    # given the same appeals decided with and without category rules
    appeals = [
        appeal("GD-1", BARBECUE, caller="c_a"),
        appeal("GD-2", BARBECUE_NEIGHBOUR, caller="c_b", at=T0 + HOUR),
        appeal("GD-3", BARBECUE, caller="c_a", at=T0 + 2 * HOUR),
        appeal("GD-4", RUBBISH, caller="c_c", at=T0 + 3 * HOUR, category="sanitation"),
    ]
    plain, ruled = CaseIndex(SETTINGS), CaseIndex(RULES)
    # then every decision is the same: free text is read as words
    assert [plain.link(a) for a in appeals] == [ruled.link(a) for a in appeals]
    assert not any(ruled.entry(a.order_id).text_less for a in appeals)


def test_a_body_seen_at_three_places_is_a_label():
    # given a descriptor (not the category, not the title) seen at two places, then at a third
    index = CaseIndex(RULES)
    def described(order_id: str, meters: float, at: float) -> Appeal:
        return replace(typed(order_id, "loud music party", meters_north=meters, at=at), title="noise residential", category="noise residential")
    index.link(described("D1", 0, T0))
    index.link(described("D2", 1000, T0 + 60))
    third = index.link(described("D3", 2000, T0 + 120))
    fourth = index.link(described("D4", 2020, T0 + 180))
    # then the first two read as words, from the third place on it is a label and links by distance
    assert [index.entry(order_id).text_less for order_id in ("D1", "D2", "D3", "D4")] == [False, False, True, True]
    assert (third.relation, fourth.relation, fourth.matched_order_id) == (None, "other_caller_same_issue", "D3")


def test_rebuilt_index_keeps_standing_cases_and_labels():
    index = CaseIndex(RULES)
    index.link(typed("N1", "aircraft noise", category="noise disturbance"))
    index.link(typed("P1", "request for pothole repair"))
    rebuilt = CaseIndex.from_entries(RULES, index.to_entries())
    assert rebuilt.link(typed("N2", "aircraft noise", at=T0 + HOUR, category="noise disturbance")).relation == "standing_case"
    assert rebuilt.link(typed("P2", "request for pothole repair", meters_north=20, at=T0 + HOUR)).matched_order_id == "P1"


@pytest.mark.parametrize(
    "change, field, problem",
    [
        (lambda t: t["category_rules"]["default"].update(policy="merge"), "category_rules.default.policy", "must be one of"),
        (lambda t: t["category_rules"]["default"].pop("radius_meters"), "category_rules.default.radius_meters", "is missing"),
        (lambda t: t["category_rules"]["by_category"]["Aircraft Noise"].update(area="city"), 'category_rules.by_category."Aircraft Noise".area', "must be one of"),
        (lambda t: t["category_rules"]["by_category"]["Aircraft Noise"].update(window_seconds=0), 'category_rules.by_category."Aircraft Noise".window_seconds', "between"),
        (lambda t: t["category_rules"]["by_category"].update({"AIRCRAFT_NOISE": {"policy": "not_linked"}}), 'category_rules.by_category."AIRCRAFT_NOISE"', "same key"),
        (lambda t: t["category_rules"].update(lookup_cell_meters=40), "category_rules.lookup_cell_meters", "at least the largest radius_meters"),
        (lambda t: t["category_rules"].update(label_min_places=1), "category_rules.label_min_places", "between"),
        (lambda t: t["category_rules"]["by_category"]["Aircraft Noise"].update(radius=5), 'category_rules.by_category."Aircraft Noise".radius', "unknown key"),
    ],
)
def test_category_rule_errors_name_the_file_and_the_field(change, field, problem):
    table = copy.deepcopy(RULES_TABLE)
    change(table)
    with pytest.raises(ConfigFileError) as raised:
        dedupe_settings_from_table(table, "test-dedupe.toml")
    assert raised.value.path == "test-dedupe.toml" and raised.value.field == field and problem in raised.value.problem


# ---------------------------------------------------------------------------------------
# The shipped rules on text-less 311 appeals

SHIPPED_RULES = load_dedupe_settings(SHIPPED_CONFIG_DIR / "dedupe.toml")


def source_typed(order_id: str, title: str, text: str, category: str, **fields) -> Appeal:
    """An appeal as a 311 importer writes it: the export has no free text (`free_text`)."""
    return replace(typed(order_id, title, category=category, **fields), text=text, free_text=False)


def test_shipped_rules_link_a_streetlight_reported_twice_nearby():
    # given a dark streetlight reported through a 311 export
    index = CaseIndex(SHIPPED_RULES)
    index.link(source_typed("L1", "Street Light Condition", "Street Light Out", "street_light_condition"))
    # when another caller reports the same type 20 m away six hours later
    decision = index.link(source_typed("L2", "Street Light Condition", "Street Light Out", "street_light_condition", meters_north=20, at=T0 + 6 * HOUR))
    # then it repeats the first report's case, by place
    assert (decision.relation, decision.case_id, decision.distance_meters) == ("other_caller_same_issue", "L1", 20.0)


def test_shipped_rules_keep_each_parked_car_its_own_case():
    # given a blocked bike lane reported at one address, then again there ten minutes later
    index = CaseIndex(SHIPPED_RULES)
    index.link(source_typed("C1", "Parking Enforcement", "Blocking Bicycle Lane", "parking_enforcement", address="10 market st"))
    decision = index.link(
        source_typed("C2", "Parking Enforcement", "Blocking Bicycle Lane", "parking_enforcement", address="10 market st", at=T0 + 600)
    )
    # then a category not fixed to one spot stays its own case: each car is one item
    assert (decision.relation, decision.case_id) == (None, "C2")


def test_an_appeal_the_source_marks_without_free_text_never_links_on_equal_labels():
    # given the first two reports of a type in a file, both at one address: too few places
    # for the label to be recognised by its spread
    index = CaseIndex(SHIPPED_RULES)
    index.link(source_typed("N1", "Noise Report", "Noise Issue", "noise_report", address="5 pine st"))
    decision = index.link(source_typed("N2", "Noise Report", "Noise Issue", "noise_report", address="5 pine st", at=T0 + DAY))
    # then the source's own mark makes them text-less: no exact resubmission, no link
    assert (decision.relation, decision.case_id) == (None, "N2")
    # while the same words from a source with free text are an exact resubmission
    free = CaseIndex(SHIPPED_RULES)
    free.link(replace(typed("F1", "楼下酒吧噪音扰民到凌晨", category="noise", address="5 pine st"), text="每晚音乐声很大"))
    repeated = free.link(replace(typed("F2", "楼下酒吧噪音扰民到凌晨", category="noise", address="5 pine st", at=T0 + DAY), text="每晚音乐声很大"))
    assert repeated.relation == "exact_resubmission"


def test_text_less_default_errors_name_the_file_and_the_field():
    table = copy.deepcopy(RULES_TABLE)
    table["category_rules"]["text_less_default"] = {"policy": "forget"}
    with pytest.raises(ConfigFileError) as raised:
        dedupe_settings_from_table(table, "test-dedupe.toml")
    assert (raised.value.field, raised.value.problem.split(",")[0]) == ("category_rules.text_less_default.policy", "must be one of link")


def test_a_record_sent_twice_is_an_exact_resubmission_whatever_its_category():
    # given a bin left out, a category that never links by place
    index = CaseIndex(SHIPPED_RULES)
    index.link(source_typed("B1", "Litter Receptacles", "Cans Left Out", "litter_receptacles", address="3 oak st"))
    # when the export repeats the row: same type, category, place and instant
    repeated = index.link(source_typed("B1~2", "Litter Receptacles", "Cans Left Out", "litter_receptacles", address="3 oak st"))
    # and another report of the same type there a minute later
    another = index.link(source_typed("B2", "Litter Receptacles", "Cans Left Out", "litter_receptacles", address="3 oak st", at=T0 + 60))
    # then the repeated row is the same record, the later report its own case
    assert (repeated.relation, repeated.case_id, repeated.matched_order_id, repeated.similarity_ratio) == ("exact_resubmission", "B1", "B1", 1.0)
    assert (another.relation, another.case_id) == (None, "B2")
# Same caller: titles, and the caller's own boilerplate.
TEXT_OPTIONS_TABLE = copy.deepcopy(SETTINGS_TABLE)
TEXT_OPTIONS_TABLE["same_caller_same_issue"].update(min_title_similarity_ratio=0.2, boilerplate_min_appeals=3, boilerplate_min_share=0.5)
TEXT_OPTIONS = dedupe_settings_from_table(TEXT_OPTIONS_TABLE, "test-dedupe.toml")

LAMP = "幸福路路灯不亮 幸福路东段的路灯已经坏了一个星期，晚上走路很危险。"
LAMP_AGAIN = "幸福路的路灯还是不亮 上次反映后至今没人来修，请尽快安排维修。"
GREETING, CLOSING = "尊敬的领导您好，我是本市的一名普通市民，", "，恳请有关部门高度重视并尽快答复为盼。"


def templated(title: str, issue: str) -> str:
    return f"{title} {GREETING}{issue}{CLOSING}"


FITNESS = templated("请重视公园设施", "公园的健身器材损坏多时无人维修")
BIKES = templated("请重视单车乱停", "地铁站出口的共享单车堆放太乱")
STALLS = templated("请重视占道经营", "菜市场的摊贩占道经营")
SCHOOL_CARS = templated("请重视校门拥堵", "学校门口早晚高峰车辆乱停")
FITNESS_AGAIN = templated("公园健身器材损坏还没修", "公园的健身器材损坏多时，至今仍无人维修")


def test_follow_up_with_new_words_under_a_similar_title_is_linked_when_titles_count():
    # given a caller's report of a broken street light
    assert similarity(LAMP, LAMP_AGAIN) == 0.0707
    assert similarity("幸福路路灯不亮", "幸福路的路灯还是不亮") == 0.2174
    for settings, expected in (
        # when titles do not count, the follow-up's new words make it a new case
        (SETTINGS, CaseDecision("src:GD-2", "GD-2", "GD-2", T0 + 5 * DAY)),
        # when they do, the title names the same road and problem: the same issue
        (TEXT_OPTIONS, CaseDecision("src:GD-2", "GD-2", "GD-1", T0 + 5 * DAY, "same_caller_same_issue", 0.2174, "GD-1", ("GD-1",))),
    ):
        index = CaseIndex(settings)
        index.link(appeal("GD-1", LAMP, category="roads"))
        assert index.link(appeal("GD-2", LAMP_AGAIN, at=T0 + 5 * DAY, category="roads")) == expected


def test_titles_alone_do_not_link_other_callers():
    # given the same titles from two callers at one address (texts far apart)
    index = CaseIndex(TEXT_OPTIONS)
    index.link(appeal("GD-1", LAMP, address="幸福路1号", category="roads"))
    # when the other caller writes the follow-up words, only the text counts
    decision = index.link(appeal("GD-2", LAMP_AGAIN, caller="c_other", at=T0 + HOUR, address="幸福路1号", category="roads"))
    assert decision == CaseDecision("src:GD-2", "GD-2", "GD-2", T0 + HOUR)


def _templated_caller_index(settings) -> CaseIndex:
    # a caller who wraps every appeal in one greeting and closing; the first three are
    # in other categories, so they are three cases whatever the text rule
    index = CaseIndex(settings)
    for number, (words, category) in enumerate(((FITNESS, "parks"), (BIKES, "traffic"), (STALLS, "markets")), start=1):
        index.link(appeal(f"GD-{number}", words, at=T0 + number * HOUR, category=category))
    return index


def test_caller_boilerplate_does_not_make_two_issues_one():
    assert similarity(FITNESS, SCHOOL_CARS) == 0.4521
    # when the caller's fourth appeal, in the first one's category, is about school traffic
    without_discount = _templated_caller_index(SETTINGS).link(appeal("GD-4", SCHOOL_CARS, at=T0 + DAY, category="parks"))
    with_discount = _templated_caller_index(TEXT_OPTIONS).link(appeal("GD-4", SCHOOL_CARS, at=T0 + DAY, category="parks"))
    # then the shared greeting and closing alone link it, unless they are left out
    assert without_discount.relation == "same_caller_same_issue" and without_discount.case_id == "GD-1"
    assert with_discount == CaseDecision("src:GD-4", "GD-4", "GD-4", T0 + DAY)


def test_caller_boilerplate_left_out_keeps_the_repeat_of_one_issue():
    # when the templated caller comes back about the park's fitness equipment
    decision = _templated_caller_index(TEXT_OPTIONS).link(appeal("GD-4", FITNESS_AGAIN, at=T0 + DAY, category="parks"))
    # then the words about the equipment itself still link it
    assert decision.case_id == "GD-1" and decision.relation == "same_caller_same_issue"
    assert decision.similarity_ratio == 0.4688


def test_boilerplate_needs_enough_appeals_of_the_caller():
    # given only two earlier appeals (fewer than boilerplate_min_appeals)
    index = CaseIndex(TEXT_OPTIONS)
    index.link(appeal("GD-1", FITNESS, category="parks"))
    index.link(appeal("GD-2", BIKES, at=T0 + HOUR, category="traffic"))
    # then nothing is discounted and the template links the next one
    decision = index.link(appeal("GD-3", SCHOOL_CARS, at=T0 + DAY, category="parks"))
    assert (decision.case_id, decision.similarity_ratio) == ("GD-1", 0.4521)


def test_index_entries_keep_the_title_and_read_entries_without_one():
    index = CaseIndex(TEXT_OPTIONS)
    index.link(appeal("GD-1", LAMP, category="roads"))
    stored = index.to_entries()[0]
    assert stored["title"] == "幸福路路灯不亮"
    older = {key: value for key, value in stored.items() if key != "title"}
    assert IndexEntry.from_json(older).title == ""
    assert CaseIndex.from_entries(TEXT_OPTIONS, [stored]).to_entries() == [stored]


def test_shipped_same_caller_rule_spans_months_and_discounts_boilerplate():
    rule = load_dedupe_settings().same_caller
    assert rule.window_seconds == 90 * DAY
    assert rule.min_title_similarity_ratio is not None and rule.boilerplate_min_appeals >= 3 and rule.title_run_chars >= 4


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda t: t["same_caller_same_issue"].update(min_title_similarity_ratio=-0.1), "same_caller_same_issue.min_title_similarity_ratio", "must be between 0.0 and 1.0, got -0.1"),
        (lambda t: t["same_caller_same_issue"].update(boilerplate_min_appeals=2), "same_caller_same_issue.boilerplate_min_appeals", "must be 0 (off) or at least 3, got 2"),
        (lambda t: t["same_caller_same_issue"].update(boilerplate_min_share=0), "same_caller_same_issue.boilerplate_min_share", "must be between 0.01 and 1.0, got 0"),
        (lambda t: t["same_caller_same_issue"].pop("boilerplate_min_appeals"), "same_caller_same_issue.boilerplate_min_share", "needs boilerplate_min_appeals"),
        (lambda t: t["same_caller_same_issue"].pop("boilerplate_min_share"), "same_caller_same_issue.boilerplate_min_share", "is missing"),
    ],
)
def test_same_caller_text_option_errors_name_the_file_and_the_field(change, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        dedupe_settings_from_table(_broken(change), "/etc/hotline/dedupe.toml")
    assert (raised.value.path, raised.value.field) == ("/etc/hotline/dedupe.toml", field)
    assert raised.value.problem.startswith(problem)


def test_same_caller_text_options_are_off_when_absent():
    rule = SETTINGS.same_caller
    assert (rule.min_title_similarity_ratio, rule.boilerplate_min_appeals) == (None, 0)


# Same caller: a place named in both titles.
RUN_OPTIONS_TABLE = copy.deepcopy(SETTINGS_TABLE)
RUN_OPTIONS_TABLE["same_caller_same_issue"].update(
    min_title_similarity_ratio=0.3, title_run_chars=5, title_run_min_similarity_ratio=0.05, title_run_ignore=["[a-z][0-9]*[市区县]"]
)
RUN_OPTIONS = dedupe_settings_from_table(RUN_OPTIONS_TABLE, "test-dedupe.toml")
NO_IGNORE_TABLE = copy.deepcopy(RUN_OPTIONS_TABLE)
NO_IGNORE_TABLE["same_caller_same_issue"]["title_run_ignore"] = []

LIFT = "金桂花园小区电梯频繁故障 小区3栋的电梯这个月已经停了四次，老人上下楼非常困难，物业只说在等配件。"
LIFT_NO_ANSWER = "为何金桂花园小区的投诉没有回音 上个月反映的电梯问题至今没人处理，物业也不接电话，请督促尽快解决。"
HOSPITAL_PARKING = "b2区人民医院门口停车难 医院门口的停车场总是满的，车辆在路边排长队，请增加车位。"
PARK_TOILET = "b2区人民公园厕所太脏 公园里的厕所很久没人打扫，请增加保洁的次数，门口也很乱。"


def test_shared_title_run_is_the_longest_common_run_cut_at_ignored_names():
    district = re.compile("[a-z][0-9]*[市区县]")
    assert shared_title_run("金桂花园小区电梯频繁故障", "为何金桂花园小区的投诉没有回音") == 6
    assert shared_title_run("b2区人民医院门口停车难", "b2区人民公园厕所太脏") == 5
    assert shared_title_run("b2区人民医院门口停车难", "b2区人民公园厕所太脏", [district]) == 2
    assert shared_title_run("", "b2区人民公园厕所太脏") == 0


def test_follow_up_naming_the_same_estate_in_its_title_is_linked_on_little_text():
    # given a caller's report of a broken lift in one estate
    assert similarity(LIFT, LIFT_NO_ANSWER) == 0.0886
    assert similarity("金桂花园小区电梯频繁故障", "为何金桂花园小区的投诉没有回音") == 0.2308
    for settings, expected in (
        # when only the whole texts count, the complaint about no answer is a new case
        (SETTINGS, CaseDecision("src:GD-2", "GD-2", "GD-2", T0 + 20 * DAY)),
        # when both titles name the estate, a little shared text is enough
        (RUN_OPTIONS, CaseDecision("src:GD-2", "GD-2", "GD-1", T0 + 20 * DAY, "same_caller_same_issue", 0.0886, "GD-1", ("GD-1",))),
    ):
        index = CaseIndex(settings)
        index.link(appeal("GD-1", LIFT, category="housing"))
        assert index.link(appeal("GD-2", LIFT_NO_ANSWER, at=T0 + 20 * DAY, category="housing")) == expected


def test_a_district_name_shared_by_two_titles_is_not_a_shared_place():
    assert similarity(HOSPITAL_PARKING, PARK_TOILET) == 0.0909
    decisions = []
    for settings in (dedupe_settings_from_table(NO_IGNORE_TABLE, "test-dedupe.toml"), RUN_OPTIONS):
        index = CaseIndex(settings)
        index.link(appeal("GD-1", HOSPITAL_PARKING, category="city"))
        decisions.append(index.link(appeal("GD-2", PARK_TOILET, at=T0 + DAY, category="city")))
    # then "b2区人民" links the park to the hospital only when district names are not cut
    assert decisions[0].case_id == "GD-1"
    assert decisions[1] == CaseDecision("src:GD-2", "GD-2", "GD-2", T0 + DAY)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda t: t["same_caller_same_issue"].update(title_run_ignore=["[a-z"]), "same_caller_same_issue.title_run_ignore[0]", "invalid regular expression '[a-z'"),
        (lambda t: t["same_caller_same_issue"].update(title_run_ignore=[""]), "same_caller_same_issue.title_run_ignore[0]", "expected a non-empty regular expression"),
        (lambda t: t["same_caller_same_issue"].update(title_run_chars=-1), "same_caller_same_issue.title_run_chars", "must be between 0 and 100, got -1"),
        (lambda t: t["same_caller_same_issue"].pop("title_run_min_similarity_ratio"), "same_caller_same_issue.title_run_min_similarity_ratio", "is missing"),
        (lambda t: t["same_caller_same_issue"].pop("title_run_chars"), "same_caller_same_issue.title_run_min_similarity_ratio", "needs title_run_chars"),
    ],
)
def test_title_run_option_errors_name_the_file_and_the_field(change, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        dedupe_settings_from_table(_broken(change), "/etc/hotline/dedupe.toml")
    assert (raised.value.path, raised.value.field) == ("/etc/hotline/dedupe.toml", field)
    assert raised.value.problem.startswith(problem)


def test_appeal_past_the_other_callers_windows_leaves_the_lsh_index_but_links_its_caller():
    index = CaseIndex(SETTINGS)
    index.link(appeal("GD-1", BARBECUE, at=T0))
    # when the watermark passes the exact and other-caller windows (7 days) but not the caller's
    assert SETTINGS.lsh_horizon_seconds == 7 * DAY
    assert index.purge(T0 + 8 * DAY) == ()
    # then the appeal is still remembered, without its LSH band keys
    assert index.size == 1 and index._lsh_by_place == {}
    # and the caller's reworded repeat still finds it
    repeat = index.link(appeal("GD-2", BARBECUE_REWORDED, at=T0 + 9 * DAY))
    assert (repeat.case_id, repeat.relation, repeat.similarity_ratio) == ("GD-1", "same_caller_same_issue", 0.3409)
    # and both are forgotten cleanly when the caller's window passes too
    assert index.purge(T0 + 40 * DAY) == ("GD-1", "GD-2")
    assert index.size == 0 and index._lsh_by_place == {}


def test_retiring_from_the_lsh_index_changes_no_decision():
    appeals = [
        appeal(f"GD-{n}", words, caller=f"c_{n % 3}", at=T0 + n * 4 * DAY)
        for n, words in enumerate([BARBECUE, BARBECUE_REWORDED, RUBBISH, BARBECUE_NEIGHBOUR, BARBECUE_REWORDED, BARBECUE, RUBBISH])
    ]
    retiring, keeping = CaseIndex(SETTINGS), CaseIndex(SETTINGS)
    decisions_retiring, decisions_keeping = [], []
    for item in appeals:
        decisions_retiring.append(retiring.link(item))
        decisions_keeping.append(keeping.link(item))
        retiring.purge(item.occurred_at_seconds)
    assert decisions_retiring == decisions_keeping
    # GD-3 and GD-4 find their callers' first appeals after those left the LSH index
    assert [d.case_id for d in decisions_retiring] == ["GD-0", "GD-1", "GD-2", "GD-0", "GD-1", "GD-5", "GD-6"]


def test_a_shared_title_run_does_not_link_appeals_recording_two_places():
    # given the same caller's two appeals at two addresses of two communities on one street
    index = CaseIndex(RUN_OPTIONS)
    index.link(appeal("GD-1", LIFT, address="幸福路1号", community="金桂社区", category="housing"))
    # when the second one's title shares "金桂花园小区" with the first one's
    decision = index.link(appeal("GD-2", LIFT_NO_ANSWER, at=T0 + 20 * DAY, address="幸福路9号", community="银杏社区", category="housing"))
    # then the run may name the problem as well as the place: no link on 0.0886 of text
    assert decision == CaseDecision("src:GD-2", "GD-2", "GD-2", T0 + 20 * DAY)
    # and at the same address it links
    index = CaseIndex(RUN_OPTIONS)
    index.link(appeal("GD-1", LIFT, address="幸福路1号", community="金桂社区", category="housing"))
    same_place = index.link(appeal("GD-2", LIFT_NO_ANSWER, at=T0 + 20 * DAY, address="幸福路1号", community="金桂社区", category="housing"))
    assert (same_place.case_id, same_place.relation, same_place.similarity_ratio) == ("GD-1", "same_caller_same_issue", 0.0886)

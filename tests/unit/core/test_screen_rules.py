"""Screening verdicts: the shipped keyword rules on hand-written 12345 texts, the
frequent-caller window, normalisation, and configuration errors that name the field."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.configfiles import SHIPPED_CONFIG_DIR, load_toml
from hotline.core.config_tables import ConfigFileError
from hotline.core.screen_rules import (
    Appeal,
    CallerHistory,
    Judgement,
    Verdict,
    apply_verdict,
    appeal_from_screened,
    content_characters,
    is_whole_words,
    normalize_text,
    screening_rules_from_table,
)
from hotline.rules import load_screening_rules

DAY = 86400.0
T0 = 1767574800.0
SHIPPED = SHIPPED_CONFIG_DIR / "screening.toml"
# The keyword rules as shipped, with a jurisdiction the tests fix (none is shipped).
TABLE = load_toml(SHIPPED)
TABLE["rules"]["outside_jurisdiction"].update(other_places=["北京", "河南", "郑州", "深圳", "佛山"], other_place_suffix="(?:省|市)(?!场)")
JURISDICTION = {"jurisdiction": {"city": "广州市", "province": "广东省", "districts": ["天河区", "海珠区", "越秀区"]}}
RULES = screening_rules_from_table(TABLE, SHIPPED, JURISDICTION, "jurisdiction.toml")


def appeal(text: str, *, title: str = "", district: str = "天河区", caller: str | None = None, order_id: str = "GD-1",
           at: float = T0, category: str = "noise", community: str = "华师社区") -> Appeal:
    return Appeal(order_id, f"src:{order_id}", at, normalize_text(title), normalize_text(text), category, "normal", caller, district, "石牌街道", community)


def verdict(text: str, **fields) -> Verdict:
    return RULES.judge(appeal(text, **fields)).verdict


ACCEPTED = Verdict("accepted", ())


def flagged(*reasons: str) -> Verdict:
    return Verdict("flagged", reasons)


def rejected(*reasons: str) -> Verdict:
    return Verdict("rejected", reasons)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ordinary appeals and hazards (hotline matters)
        ("楼下烧烤店每天营业到凌晨两点，油烟和吆喝声很大，严重影响休息，希望尽快处理。", ACCEPTED),
        ("小区电动车都在楼道里充电，担心起火，物业不管。", ACCEPTED),
        ("消防通道被私家车堵死了，万一着火消防车进不来。", ACCEPTED),
        ("地下车库停满了车，一旦发生火灾后果不堪设想，现在快想想办法吧。", ACCEPTED),
        ("自来水管爆了，施工队正在抢修但一直没修好，全楼停水。", ACCEPTED),
        ("商场搞跳楼价甩卖，结果买到的全是次品，要求退货。", ACCEPTED),
        # what is under way before a court or an arbitration body
        ("我和公司的工资纠纷已经申请劳动仲裁了，想问进度。", flagged("litigation_or_arbitration")),
        ("法院判决书下来半年了，对方一直不执行赔偿。", flagged("litigation_or_arbitration")),
        ("这件事我已向天河区人民法院提起诉讼，请你们督促对方。", flagged("litigation_or_arbitration")),
        ("为了宅基地的事我们两家打了三年官司，到现在也没个结果。", flagged("litigation_or_arbitration")),
        # plans, refusals, advice, idioms and a court that refused: nothing is under way
        ("公司拖欠工资三个月，我不想打官司，希望劳动部门帮忙协调。", ACCEPTED),
        ("开发商说有本事你们就去打官司，根本不理我们。", ACCEPTED),
        ("为这点钱打官司太不值得，只想请街道出面调解一下。", ACCEPTED),
        ("包工头官司缠身，欠我们的工钱拖了一年。", ACCEPTED),
        ("维修基金的争议应该交由法院裁定，物业却先扣了钱。", ACCEPTED),
        ("法院说不予立案，让我们找政府，现在没人管。", ACCEPTED),
        # emergencies happening now
        ("楼下餐馆着火了，烟很大，楼上还有人！", flagged("emergency_service")),
        ("有个老人倒在公交站抽搐，叫不醒，快叫救护车！", flagged("emergency_service")),
        ("我奶奶刚才在菜市场门口晕倒了，现在还没醒。", flagged("emergency_service")),
        ("停车场有人正在撬车门偷东西，快派警察来。", flagged("emergency_service")),
        ("家里燃气泄漏了，满屋子煤气味。", flagged("emergency_service")),
        ("快来人！菜市场后面的仓库烧起来了，火很大！", flagged("emergency_service")),
        # the same words told as a past event, an aftermath, a negation, a recurring
        # defect, a symptom of a nuisance, or inside another word
        ("上次着火后物业把楼道电线换了，可被熏黑的墙到现在也没人刷。", ACCEPTED),
        ("去年车祸受伤以后，肇事方一直不付医药费。", ACCEPTED),
        ("物业说配电房没有着火，只是跳闸，可整栋楼到现在还停着电。", ACCEPTED),
        ("厨房的燃气管经常漏气，燃气公司来修了几次还是老样子。", ACCEPTED),
        ("电梯三天两头出故障，业主多次被困在电梯里，物业只会敷衍。", ACCEPTED),
        ("隔壁工地的噪音吵得我心脏病都犯了，现在胸闷呼吸困难。", ACCEPTED),
        ("楼下饭馆的油烟熏得我们头晕，现在一开窗就呼吸困难。", ACCEPTED),
        ("我刚才看着火车站门口的井盖又被人撬走了，赶紧派人来补上。", ACCEPTED),
        ("楼顶的落水管断了，雨水全冲进我家阳台，请快点来修。", ACCEPTED),
        ("楼下那家叫着火点的烧烤店现在还在营业，油烟灌进屋里。", ACCEPTED),
        # insults and profanity; a mother, a diagnosis and a heap of rubbish are not
        ("你们这帮废物，打了十几次电话都没人管，一群吃干饭的！", flagged("abusive_content")),
        ("ＴＭＤ，门口的路灯坏了一个月了还不修。", flagged("abusive_content")),
        ("身为妈妈的我看着孩子没地方上学，心里特别着急。", ACCEPTED),
        ("邻居家孩子先天性智障，父母想问怎么申请补助。", ACCEPTED),
        ("菜市场门口到处都是垃圾，又脏又臭。", ACCEPTED),
        # where the matter is: another province, or ours with another place in passing
        ("我在河南省郑州市买的房子延期交房，开发商不理。", flagged("outside_jurisdiction")),
        ("深圳市南山区一家商场卖给我的手机是翻新机，要求退款。", flagged("outside_jurisdiction")),
        ("我是从河南省来广州打工的，工地包工头拖欠工资两个月。", ACCEPTED),
        ("我去年从北京市搬过来，想问孩子转学要办哪些手续。", ACCEPTED),
        ("这家注册在深圳市的公司在小区里开了个仓库，每天装卸货噪音很大。", ACCEPTED),
        # short content that asks for nothing
        ("没什么事，就是心里烦，想找个人说说话。", flagged("non_actionable")),
        ("测试测试123", flagged("non_actionable")),
        ("哈哈哈哈哈哈哈哈哈哈哈哈", flagged("non_actionable")),
        # long prose is never non-actionable, however few distinct characters it uses
        ("噪音很大很大很大" * 40, ACCEPTED),
        # no content at all
        ("喂？喂？听得见吗？……算了。", rejected("no_content")),
        ("。。。", rejected("no_content")),
        ("", rejected("no_content")),
        ("啊啊啊啊啊啊啊啊啊啊啊啊", rejected("no_content")),
        ("[phone]", rejected("no_content")),
    ],
)
def test_verdicts_on_hand_written_appeals(text, expected):
    assert verdict(text) == expected


def test_an_appeal_can_carry_several_reasons():
    text = "你们这帮废物！我在深圳市打工被拖欠工资，已经申请劳动仲裁了。"
    assert verdict(text) == flagged("litigation_or_arbitration", "outside_jurisdiction", "abusive_content")


def test_an_appeal_the_source_did_not_accept_is_rejected_whatever_it_says():
    # given an appeal with ordinary content that the source system marked as not accepted
    not_accepted = replace(appeal("楼下烧烤店每天营业到凌晨两点，影响休息。"), accepted_by_source=False)
    # then it is rejected for that reason alone
    assert RULES.content_verdict(not_accepted) == rejected("not_accepted_by_source")


def test_an_operator_can_make_a_pattern_reason_reject():
    # given the shipped rules with emergency_service moved from flag to reject
    table = copy.deepcopy(TABLE)
    table["verdict"]["flag"].remove("emergency_service")
    table["verdict"]["reject"].append("emergency_service")
    rules = screening_rules_from_table(table, SHIPPED)
    # then a fire in progress is rejected and a fire hazard still accepted
    assert rules.judge(appeal("楼下餐馆着火了，快来人！")).verdict == rejected("emergency_service")
    assert rules.judge(appeal("楼道堆满杂物，担心起火。")).verdict == ACCEPTED


def test_whole_words_come_from_the_segmentation_of_the_clause():
    assert is_whole_words("楼下着火了", 2, 4)
    # 看着 / 火车站: '着火' starts inside one word and ends inside the next
    assert not is_whole_words("我看着火车站", 2, 4)
    # 妈妈 / 的: '妈的' starts inside a word
    assert not is_whole_words("身为妈妈的我", 3, 5)


def test_a_district_of_another_city_is_outside_jurisdiction():
    assert verdict("门口的马路塌陷了一块，晚上走路很危险。", district="金水区") == flagged("outside_jurisdiction")
    # the short name of one of our districts is ours
    assert verdict("门口的马路塌陷了一块，晚上走路很危险。", district="天河") == ACCEPTED
    # 311 imports and callers who do not say where: no district, no judgement on it
    assert verdict("门口的马路塌陷了一块，晚上走路很危险。", district="") == ACCEPTED


def test_the_title_counts_as_content():
    assert verdict("", title="楼下烧烤店噪音扰民到凌晨") == ACCEPTED


def test_a_placeholder_title_adds_no_content():
    # given a call the operator titled with the placeholder for "a citizen called"
    assert verdict("喂？有人吗？……不用了。", title="市民来电") == rejected("no_content")
    # a placeholder title does not empty a real matter
    assert verdict("路灯坏了", title="市民来电") == ACCEPTED
    assert verdict("嗯，好的", title="市民来电") == flagged("non_actionable")


def _caller_appeals(issues: list[tuple[str, str]], caller: str = "c_frequent", step_seconds: float = DAY):
    history = None
    verdicts = []
    for number, (category, community) in enumerate(issues):
        judged = RULES.judge(
            appeal("门口的问题一直没人管，希望尽快处理。", caller=caller, order_id=f"GD-{number}", at=T0 + number * step_seconds,
                   category=category, community=community),
            history,
        )
        history = judged.caller_history
        verdicts.append(judged.verdict.status)
    return verdicts, history


def test_a_caller_with_five_unrelated_issues_in_thirty_days_is_flagged_from_the_fifth():
    issues = [("noise", "A社区"), ("sanitation", "A社区"), ("road", "A社区"), ("noise", "B社区"), ("traffic", "C社区"), ("housing", "D社区")]
    statuses, history = _caller_appeals(issues)
    assert statuses == ["accepted"] * 4 + ["flagged"] * 2
    assert len(history.appeals) == 6


def test_a_caller_repeating_one_issue_is_not_a_frequent_caller():
    statuses, _ = _caller_appeals([("noise", "A社区")] * 8)
    assert statuses == ["accepted"] * 8


def test_unrelated_issues_spread_beyond_the_window_are_not_frequent():
    issues = [("noise", "A社区"), ("sanitation", "A社区"), ("road", "A社区"), ("noise", "B社区"), ("traffic", "C社区")]
    statuses, history = _caller_appeals(issues, step_seconds=8 * DAY)
    assert statuses == ["accepted"] * 5
    # and the history keeps only what the window can still use
    assert [a.order_id for a in history.appeals] == ["GD-1", "GD-2", "GD-3", "GD-4"]


def test_a_resent_appeal_is_not_counted_twice_for_its_caller():
    issues = [("noise", "A社区"), ("sanitation", "A社区"), ("road", "A社区"), ("noise", "B社区")]
    _, history = _caller_appeals(issues)
    last = appeal("门口的问题一直没人管。", caller="c_frequent", order_id="GD-3", at=T0 + 3 * DAY, community="B社区")
    again = RULES.judge(last, history)
    assert again.verdict == ACCEPTED
    assert again.caller_history == history


def test_an_appeal_judged_again_gets_its_first_verdict_though_the_history_moved_on():
    issues = [("noise", "A社区"), ("sanitation", "A社区"), ("road", "A社区"), ("noise", "B社区"), ("traffic", "C社区"), ("housing", "D社区")]
    _, history = _caller_appeals(issues)
    # the fourth appeal (accepted the first time) comes again after the sixth was counted
    fourth = appeal("门口的问题一直没人管，希望尽快处理。", caller="c_frequent", order_id="GD-3", at=T0 + 3 * DAY, category="noise", community="B社区")
    again = RULES.judge(fourth, history)
    assert (again.verdict, again.caller_history) == (Verdict("accepted"), history)
    fifth = appeal("门口的问题一直没人管，希望尽快处理。", caller="c_frequent", order_id="GD-4", at=T0 + 4 * DAY, category="traffic", community="C社区")
    assert RULES.judge(fifth, history).verdict == Verdict("flagged", ("frequent_caller",))


def test_the_caller_rule_completes_the_content_verdict():
    abusive = appeal("你们这帮狗官，门口的问题一直没人管", caller="c_frequent", order_id="GD-9", at=T0 + 5 * DAY, category="parking", community="E社区")
    content = RULES.content_verdict(abusive)
    _, history = _caller_appeals([("noise", "A社区"), ("sanitation", "A社区"), ("road", "A社区"), ("noise", "B社区")])
    judged = RULES.judge_caller(abusive, content, history)
    assert (content, judged.verdict) == (Verdict("flagged", ("abusive_content",)), Verdict("flagged", ("abusive_content", "frequent_caller")))
    assert RULES.judge_caller(appeal("路灯坏了"), content, None) == Judgement(content, None)


def test_caller_history_survives_a_json_round_trip():
    _, history = _caller_appeals([("noise", "A社区"), ("road", "B社区")])
    assert history.to_json() == {"appeals": [["GD-0", T0, "noise@A社区", False], ["GD-1", T0 + DAY, "road@B社区", False]]}
    assert CallerHistory.from_json(history.to_json()) == history


def test_appeals_without_caller_have_no_history():
    assert RULES.judge(appeal("楼下烧烤店每天营业到凌晨两点，影响休息。")).caller_history is None


def test_full_width_text_is_normalised_to_half_width():
    assert normalize_text("ＡＢＣ１２３　　噪音\n扰民 ") == "abc123 噪音 扰民"
    assert content_characters("噪音扰民，请回电[phone]！ＯＫ") == "噪音扰民请回电ok"


def test_screened_event_becomes_a_normalised_appeal():
    event = {
        "event_id": "x",
        "caused_by": "gz:GD-1",
        "type": "appeal.received",
        "order_id": "GD-1",
        "occurred_at": "2026-01-05T01:12:00Z",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": "c_0123456789abcdef0123",
            "title": "噪音扰民",
            "text": "楼下ＫＴＶ  唱到凌晨",
            "category": "噪音",
            "urgency": "紧急",
            "location": {"district": "天河区", "street": "石牌 街道", "community": "华师社区", "address": "华师路１２号", "lat": 23.1, "lon": 113.3},
        },
        "verdict": {"status": "accepted", "reasons": []},
    }
    assert RULES.appeal_from_screened(event) == Appeal(
        "GD-1", "gz:GD-1", 1767575520.0, "噪音扰民", "楼下ktv 唱到凌晨", "noise", "urgent", "c_0123456789abcdef0123",
        "天河区", "石牌街道", "华师社区", "华师路12号", 23.1, 113.3,
    )
    assert appeal_from_screened(event).category == "噪音"
    # a source that says it did not accept the appeal
    not_accepted = {**event, "data": {**event["data"], "accepted": False}}
    assert (RULES.appeal_from_screened(not_accepted).accepted_by_source, RULES.appeal_from_screened(event).accepted_by_source) == (False, True)
    assert RULES.judge(RULES.appeal_from_screened(not_accepted)).verdict == rejected("not_accepted_by_source")
    assert apply_verdict(event, Verdict("flagged", ("abusive_content",)))["verdict"] == {"status": "flagged", "reasons": ["abusive_content"]}


def test_shipped_screening_config_loads():
    rules = load_screening_rules()
    assert rules.reject_reasons == {"not_accepted_by_source", "no_content"}
    assert rules.flag_reasons == {
        "litigation_or_arbitration", "emergency_service", "outside_jurisdiction", "abusive_content", "non_actionable", "frequent_caller",
    }


def _broken(change) -> dict:
    table = copy.deepcopy(TABLE)
    change(table)
    return table


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda t: t["verdict"]["reject"].append("non_actionable"), "verdict", "reason 'non_actionable' must be listed in exactly one of reject, flag (found in 2)"),
        (lambda t: t["verdict"]["reject"].remove("no_content"), "verdict", "reason 'no_content' must be listed in exactly one of reject, flag (found in 0)"),
        (lambda t: t["verdict"]["reject"].append("spam"), "verdict.reject[2]", "unknown reason 'spam'"),
        (lambda t: (t["verdict"]["flag"].remove("frequent_caller"), t["verdict"]["reject"].append("frequent_caller")), "verdict.flag",
         "must list 'frequent_caller'"),
        (lambda t: t["rules"]["emergency_service"]["patterns"].insert(1, "(着火"), "rules.emergency_service.patterns[1]", "invalid regular expression '(着火'"),
        (lambda t: t["rules"]["abusive_content"].update(patterns=[]), "rules.abusive_content.patterns", "needs at least one pattern"),
        (lambda t: t["rules"]["frequent_caller"].pop("window_seconds"), "rules.frequent_caller.window_seconds", "is missing"),
        (lambda t: t["rules"]["frequent_caller"].update(min_distinct_issues=True), "rules.frequent_caller.min_distinct_issues", "expected a number, got True"),
        (lambda t: t["rules"]["non_actionable"].update(min_distinct_char_ratio=2), "rules.non_actionable.min_distinct_char_ratio", "must be between 0 and 1, got 2"),
        (lambda t: t["rules"]["non_actionable"].pop("max_content_chars"), "rules.non_actionable.max_content_chars", "is missing"),
        (lambda t: t["rules"]["non_actionable"].update(min_content_chars=50), "rules.non_actionable.min_content_chars", "must not exceed max_content_chars (40)"),
        (lambda t: t["rules"]["no_content"].update(min_content_chars=-1), "rules.no_content.min_content_chars", "must be between 0 and 100, got -1"),
        (lambda t: t["rules"]["emergency_service"].update(whole_words="yes"), "rules.emergency_service.whole_words", "expected true or false, got 'yes'"),
        (lambda t: t["rules"]["emergency_service"]["require_patterns"].insert(0, "(现在"), "rules.emergency_service.require_patterns[0]",
         "invalid regular expression '(现在'"),
        (lambda t: t["rules"]["outside_jurisdiction"]["place_frames"].append("在外地"), "rules.outside_jurisdiction.place_frames[3]",
         "must contain {place} where the other place's name goes, got '在外地'"),
        (lambda t: t["rules"]["outside_jurisdiction"]["place_frames"].append("在({place}"), "rules.outside_jurisdiction.place_frames[3]",
         "invalid regular expression"),
        (lambda t: t["normalize"]["urgency_aliases"].update({"急": "asap"}), "normalize.urgency_aliases.急", "must be one of normal, urgent, emergency, got 'asap'"),
        (lambda t: t["rules"]["outside_jurisdiction"].pop("other_place_suffix"), "rules.outside_jurisdiction.other_place_suffix", "is missing"),
    ],
)
def test_config_errors_name_the_file_and_the_field(change, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        screening_rules_from_table(_broken(change), "/etc/hotline/screening.toml")
    assert raised.value.path == "/etc/hotline/screening.toml"
    assert raised.value.field == field
    assert raised.value.problem.startswith(problem)


@pytest.mark.parametrize(
    ("jurisdiction", "field", "problem"),
    [
        ({"city": "广州市", "districts": []}, "jurisdiction.districts", "needs at least one district"),
        ({"city": " ", "districts": ["天河区"]}, "jurisdiction.city", "must not be empty"),
        ({"districts": ["天河区"]}, "jurisdiction.city", "is missing"),
        ({"city": "广州市", "districts": "天河区"}, "jurisdiction.districts", "expected list"),
    ],
)
def test_jurisdiction_errors_name_the_jurisdiction_file_and_the_field(jurisdiction, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        screening_rules_from_table(TABLE, SHIPPED, {"jurisdiction": jurisdiction}, "/etc/hotline/jurisdiction.toml")
    assert (raised.value.path, raised.value.field) == ("/etc/hotline/jurisdiction.toml", field)
    assert raised.value.problem.startswith(problem)


def test_without_a_configured_jurisdiction_no_appeal_is_outside_it():
    # Given the shipped rules and no jurisdiction (as shipped)
    rules = screening_rules_from_table(TABLE, SHIPPED, {}, "jurisdiction.toml")
    # When appeals name a district or a city of anywhere
    elsewhere = rules.judge(appeal("我在河南省郑州市买的房子延期交房，开发商不理。", district="BROOKLYN")).verdict
    # Then none is judged outside the jurisdiction
    assert rules.jurisdiction is None
    assert elsewhere == ACCEPTED


def test_a_city_listed_among_other_places_is_not_elsewhere_for_itself():
    # Given a deployment in 深圳, a city the shipped list of other places names
    rules = screening_rules_from_table(TABLE, SHIPPED, {"jurisdiction": {"city": "深圳市", "province": "广东省", "districts": ["南山区"]}}, "j.toml")
    # Then a text about its own city is not about another one, a text about 佛山 is
    assert rules.judge(appeal("深圳市南山区科技园的路灯坏了一排。", district="南山区")).verdict == ACCEPTED
    assert rules.judge(appeal("我在佛山市买的家具质量有问题。", district="南山区")).verdict == flagged("outside_jurisdiction")


def test_the_shipped_config_judges_no_jurisdiction_and_the_simulator_profile_names_its_city(monkeypatch):
    monkeypatch.delenv("HOTLINE_CONFIG_DIR", raising=False)
    assert load_screening_rules().jurisdiction is None
    shipped = SHIPPED.parent
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", f"{shipped / 'simulator'}:{shipped}")
    rules = load_screening_rules()
    assert (rules.jurisdiction.city, sorted(rules.jurisdiction.district_names)) == ("云州", ["临江", "江北", "滨湖", "老城", "高新区"])
    assert rules.jurisdiction.source == str(shipped / "simulator" / "jurisdiction.toml")
    assert rules.source == str(shipped / "screening.toml")


def test_a_broken_toml_file_is_named(tmp_path: Path):
    path = tmp_path / "screening.toml"
    path.write_text("[verdict\nreject = []\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as raised:
        load_screening_rules(path)
    assert (raised.value.path, raised.value.field) == (str(path), "(syntax)")

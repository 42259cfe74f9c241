"""The screen stage turns raw bytes into a sanitised event or a rejection with a reason."""

from __future__ import annotations

import orjson
import pytest

from hotline.contract.schemas import event_validator
from hotline.core.ids import derived_event_id
from hotline.core.privacy import pseudonymize
from hotline.core.screening import Rejected, Screened, ScreenSettings, screen

KEY = b"unit-test-key-unit-test-key-0000"
SETTINGS = ScreenSettings(pseudonym_key=KEY, max_event_bytes=4096)

APPEAL = {
    "event_id": "gz12345:GD-1:appeal.received",
    "type": "appeal.received",
    "order_id": "GD-1",
    "occurred_at": "2026-01-05T09:12:00+08:00",
    "schema": 1,
    "data": {
        "channel": "phone",
        "caller_id": "13812345678",
        "title": "噪音扰民 请回电13812345678",
        "text": "楼下烧烤店营业到凌晨，身份证440106199001011234，电话020-87654321",
        "category": "noise",
        "urgency": "normal",
        "location": {"district": "天河区", "street": "石牌街道", "address": "华师路12号 电话13912345678"},
    },
}


def _screen(value) -> Screened | Rejected:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return screen(raw, event_validator(), SETTINGS)


def test_appeal_is_normalised_pseudonymised_and_redacted():
    outcome = _screen(APPEAL)
    assert isinstance(outcome, Screened)
    assert outcome.event == {
        "event_id": derived_event_id("gz12345:GD-1:appeal.received", "screened"),
        "caused_by": "gz12345:GD-1:appeal.received",
        "type": "appeal.received",
        "order_id": "GD-1",
        "occurred_at": "2026-01-05T01:12:00Z",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": pseudonymize("13812345678", KEY),
            "title": "噪音扰民 请回电[phone]",
            "text": "楼下烧烤店营业到凌晨，身份证[id-number]，电话[phone]",
            "category": "noise",
            "urgency": "normal",
            "location": {"district": "天河区", "street": "石牌街道", "address": "华师路12号 电话[phone]"},
        },
        "verdict": {"status": "accepted", "reasons": []},
    }
    assert outcome.occurred_at_seconds == 1767575520.0


def test_screening_the_same_event_twice_gives_the_same_bytes():
    assert _screen(APPEAL) == _screen(APPEAL)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty_message"),
        (b"x" * 5000, "too_large"),
        (b'{"event_id": "\xff\xfe"}', "invalid_encoding"),
        (b"not json", "invalid_json"),
        (b'{"event_id": "e-1", "type": ', "invalid_json"),
        (b"[1, 2, 3]", "not_an_object"),
        (orjson.dumps({**APPEAL, "type": "appeal.teleported"}), "unknown_type"),
        (orjson.dumps({k: v for k, v in APPEAL.items() if k != "occurred_at"}), "missing_field"),
        (orjson.dumps({**APPEAL, "data": {**APPEAL["data"], "title": 3}}), "wrong_type"),
        (orjson.dumps({**APPEAL, "occurred_at": "2026-13-45T09:12:00+08:00"}), "invalid_value"),
    ],
)
def test_malformed_message_is_rejected_with_its_reason(raw, reason):
    outcome = screen(raw, event_validator(), SETTINGS)
    assert isinstance(outcome, Rejected)
    assert outcome.reason == reason


def test_rejection_keeps_the_input_event_id_when_it_could_be_read():
    outcome = _screen({**APPEAL, "type": "appeal.teleported"})
    assert outcome == Rejected(outcome.reason, outcome.detail, "gz12345:GD-1:appeal.received")


def test_an_event_stamped_beyond_the_future_limit_is_rejected_and_one_inside_it_is_screened():
    now = 1767575520.0  # APPEAL's occurred_at
    assert isinstance(screen(orjson.dumps(APPEAL), event_validator(), SETTINGS, now_seconds=now - 86400), Screened)
    late_clock = screen(orjson.dumps(APPEAL), event_validator(), SETTINGS, now_seconds=now - 86401)
    assert isinstance(late_clock, Rejected)
    assert (late_clock.reason, late_clock.input_event_id) == ("occurred_in_future", APPEAL["event_id"])
    unlimited = ScreenSettings(pseudonym_key=KEY, max_event_bytes=4096, max_future_seconds=None)
    assert isinstance(screen(orjson.dumps(APPEAL), event_validator(), unlimited, now_seconds=0.0), Screened)

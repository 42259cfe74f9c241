"""Dead letters keep the bytes of a bad message, but not the personal data in them."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from hotline.contract.schemas import topic_validator
from hotline.core.deadletters import SourcePosition, dead_letter, redact_original
from hotline.core.privacy import ID_NUMBER_PLACEHOLDER, PHONE_PLACEHOLDER, pseudonymize

KEY = b"k" * 32
PHONE = "13912345678"
ID_NUMBER = "110101199003074578"
CALLER = "15936685520"


def _appeal(**data) -> dict:
    return {
        "event_id": "GD1-01",
        "type": "appeal.received",
        "order_id": "GD1",
        "occurred_at": "2026-03-02T00:05:00+08:00",
        "schema": 1,
        "data": {"caller_id": CALLER, "text": f"回电 {PHONE}，身份证 {ID_NUMBER}", **data},
    }


def test_phone_and_id_numbers_in_text_that_is_not_json_are_replaced_and_the_rest_kept():
    # given a message that is not JSON at all
    value = f"not json: call {PHONE} or ID {ID_NUMBER} {{]".encode()
    # when it is redacted
    redacted = redact_original(value, KEY)
    # then only the numbers changed
    assert redacted == f"not json: call {PHONE_PLACEHOLDER} or ID {ID_NUMBER_PLACEHOLDER} {{]".encode()


def test_caller_id_of_a_json_object_gets_the_pseudonym_the_screen_stage_would_give_it():
    # given an event that failed validation only because of an unexpected field
    value = json.dumps({**_appeal(), "priority": "high"}, ensure_ascii=False).encode()
    # when it is redacted
    redacted = json.loads(redact_original(value, KEY))
    # then it still parses, shows the field at fault, and carries no personal number
    assert redacted["priority"] == "high"
    assert redacted["data"] == {"caller_id": pseudonymize(CALLER, KEY), "text": f"回电 {PHONE_PLACEHOLDER}，身份证 {ID_NUMBER_PLACEHOLDER}"}


def test_a_caller_id_that_is_not_a_phone_number_is_pseudonymised_too():
    value = b'{"data": {"caller_id": "wx-openid-oX9z"}}'
    assert redact_original(value, KEY) == b'{"data": {"caller_id": "' + pseudonymize("wx-openid-oX9z", KEY).encode() + b'"}}'


def test_truncated_json_cut_inside_the_caller_id_keeps_none_of_its_digits():
    # given JSON cut off in the middle of the caller id
    value = b'{"data":{"caller_id":"1593668'
    # when it is redacted
    redacted = redact_original(value, KEY)
    # then the partial caller id is pseudonymised and the JSON stays cut where it was
    assert redacted == b'{"data":{"caller_id":"' + pseudonymize("1593668", KEY).encode()


def test_a_caller_id_already_pseudonymised_by_the_screen_stage_is_kept():
    pseudonym = pseudonymize(CALLER, KEY)
    value = json.dumps({"data": {"caller_id": pseudonym}}).encode()
    assert redact_original(value, KEY) == value


def test_bytes_that_are_not_utf8_are_kept_byte_for_byte_around_the_redaction():
    # given a message with a byte that can never appear in UTF-8
    value = b"\x80 broken " + PHONE.encode() + b" \xc3"
    # when it is redacted
    redacted = redact_original(value, KEY)
    # then the invalid bytes still show where decoding fails
    assert redacted == b"\x80 broken " + PHONE_PLACEHOLDER.encode() + b" \xc3"


def test_ascii_digits_behind_a_utf16_byte_order_mark_are_redacted_whether_or_not_it_decodes():
    # given bytes that start like UTF-16 but carry the number in ASCII (even and odd lengths)
    for value in (b"\xff\xfe broken " + PHONE.encode() + b" ", b"\xff\xfe broken " + PHONE.encode() + b" \xc3"):
        # when they are redacted, then the number is gone and the mark kept
        assert redact_original(value, KEY) == value.replace(PHONE.encode(), PHONE_PLACEHOLDER.encode())


def test_utf16_text_is_redacted_in_utf16_with_its_byte_order_mark():
    # given an event sent in UTF-16 (the screen stage dead-letters it as invalid_encoding)
    value = json.dumps(_appeal(), ensure_ascii=False).encode("utf-16")
    # when it is redacted
    redacted = redact_original(value, KEY)
    # then it is still UTF-16 and none of the numbers are left, in either encoding
    assert redacted[:2] == value[:2]
    text = redacted.decode("utf-16")
    assert json.loads(text)["data"]["caller_id"] == pseudonymize(CALLER, KEY)
    for number in (PHONE, ID_NUMBER, CALLER):
        assert number not in text
        assert number.encode("utf-16-le") not in redacted


def test_dead_letter_with_a_key_redacts_bytes_key_and_error_and_keeps_the_received_size():
    # given a bad message whose key and error detail also carry a phone number
    value = json.dumps({**_appeal(), "priority": "high"}).encode()
    position = SourcePosition("hotline.events.v1", 2, 7, PHONE.encode())
    # when its dead letter is built with the pseudonym key
    record = dead_letter(position, value, stage="screen", reason="unexpected_field", error=f"priority near {PHONE}", input_event_id="GD1-01", max_original_bytes=65536, pseudonym_key=KEY)
    # then it is valid, not truncated, sized as received, and carries no personal number
    assert topic_validator("hotline.deadletter.v1").validate(record) is None
    assert (record["value_size_bytes"], record["value_truncated"]) == (len(value), False)
    assert base64.b64decode(record["source"]["key_base64"]) == PHONE_PLACEHOLDER.encode()
    assert record["error"] == f"priority near {PHONE_PLACEHOLDER}"
    assert base64.b64decode(record["value_base64"]) == redact_original(value, KEY)


def test_redaction_comes_before_truncation_so_no_number_is_cut_in_half_and_left():
    # given a phone number that straddles the truncation limit
    value = b"x" * 95 + PHONE.encode() + b"y" * 100
    # when the dead letter keeps 100 bytes
    record = dead_letter(SourcePosition("t", 0, 0, None), value, stage="screen", reason="too_large", error="big", input_event_id=None, max_original_bytes=100, pseudonym_key=KEY)
    # then the kept bytes end in the placeholder's start, not in the number's first digits
    assert base64.b64decode(record["value_base64"]) == b"x" * 95 + PHONE_PLACEHOLDER.encode()[:5]
    assert (record["value_size_bytes"], record["value_truncated"]) == (len(value), True)


@given(st.binary(max_size=300))
def test_any_bytes_can_be_redacted(value):
    assert isinstance(redact_original(value, KEY), bytes)


@given(st.text(max_size=40), st.sampled_from([PHONE, ID_NUMBER, "+86 139-1234-5678", "123-45-6789"]), st.text(max_size=40))
def test_a_personal_number_between_any_text_does_not_survive(before, number, after):
    # given a number set apart from its surroundings (not glued to other digits or letters)
    value = f"{before} {number} {after}".encode("utf-8", errors="surrogatepass")
    redacted = redact_original(value, KEY).decode("utf-8", errors="surrogatepass")
    assert f" {number} " not in redacted

"""Privacy end to end: the simulated stream (callers' phone numbers as caller ids, ID-card
numbers in some appeal texts) plus appeals that carry phone and ID numbers in their text
and address, some valid and some malformed in every way that can still hold them (not
JSON, truncated JSON, UTF-16, an unexpected field, a wrong type, oversized, a caller id
that is no phone number, a phone number as the message key). After the run no personal
number and no raw caller id may be found anywhere the pipeline writes: any topic but the
input topic (derived, dead-letter, changelog and other internal topics; keys, values and
the base64 fields of dead letters, read as UTF-8 and UTF-16), the worker log, /metrics.

Dead letters keep a malformed message's bytes, so this holds only once the stream layer
builds them with the pseudonym key (`dead_letter(..., pseudonym_key=...)`, docs/operations.md,
"Privacy").
"""

from __future__ import annotations

import base64
import random
import re
import urllib.request
from collections import Counter
from dataclasses import dataclass

import orjson
import pytest
from kafka import KafkaConsumer

from hotline.contract import topics
from support.kafka import read_all
from support.reliability import ReliabilityPipeline, SimulatedStream

# Whole runs: the module's fixture replays thousands of events through a real worker.
pytestmark = pytest.mark.timeout(1800)

SEED = 20260710
PERSONAL_APPEALS = 300  # valid appeals with numbers in their text, of orders of their own
MALFORMED_PER_KIND = 40
MAX_EVENT_BYTES = 65536  # the worker's default HOTLINE_MAX_EVENT_BYTES
# What a reader would recognise: PRC mobiles, 18-digit ID-card numbers, caller ids.
PERSONAL_NUMBER = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dX])(?!\d)")


@dataclass(frozen=True)
class PrivacyRun:
    pipeline: ReliabilityPipeline
    personal: frozenset[str]
    malformed: int
    dead_letters: int


class PersonalData:
    """Seeded phone and ID numbers, and appeals that carry them."""

    def __init__(self, seed: int, stream: SimulatedStream):
        self.rng = random.Random(seed)
        self.appeals = [event for event in stream.events() if event["type"] == "appeal.received"]
        self.made = 0

    def phone(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"

    def id_number(self) -> str:
        body = f"{self.rng.randint(110000, 659000)}{self.rng.randint(1950, 2005)}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}{self.rng.randrange(1000):03d}"
        return body + self.rng.choice("0123456789X")

    def appeal(self) -> dict:
        """A valid appeal of an order of its own, numbers in its text, title and address."""
        self.made += 1
        template = self.rng.choice(self.appeals)
        order_id = f"PRIV{self.made:06d}"
        data = dict(template["data"])
        data["caller_id"] = self.phone()
        data["title"] = f"回电 {self.phone()}"
        data["text"] = f"{data['text']} 联系电话{self.phone()}，身份证号{self.id_number()}。"
        data["location"] = {**data.get("location", {}), "address": f"{data.get('location', {}).get('address', '中山路1号')} 电话 {self.phone()}"}
        return {**template, "event_id": f"{order_id}-01", "order_id": order_id, "data": data}

    def malformed(self, kind: str) -> tuple[bytes | None, bytes]:
        appeal = self.appeal()
        key = appeal["order_id"].encode()
        if kind == "not_json":
            return None, f"来电 {self.phone()} 身份证 {self.id_number()} {{".encode()
        if kind == "truncated_json":
            text = orjson.dumps(appeal).decode()
            return key, text[: self.rng.randint(len(text) // 4, len(text) - 2)].encode()
        if kind == "utf16":
            return key, orjson.dumps(appeal).decode().encode("utf-16")
        if kind == "unexpected_field":
            return key, orjson.dumps({**appeal, "callback_phone": self.phone()})
        if kind == "wrong_type":
            return key, orjson.dumps({**appeal, "order_id": 12345})
        if kind == "huge":
            return key, orjson.dumps({**appeal, "data": {**appeal["data"], "padding": "x" * (MAX_EVENT_BYTES + 100)}})
        if kind == "opaque_caller_id":
            return key, orjson.dumps({**appeal, "data": {**appeal["data"], "caller_id": f"wx-openid-{self.rng.randrange(10**12)}"}, "priority": "high"})
        if kind == "phone_as_key":
            return self.phone().encode(), orjson.dumps({**appeal, "schema": 2})
        raise ValueError(kind)


MALFORMED_KINDS = ("not_json", "truncated_json", "utf16", "unexpected_field", "wrong_type", "huge", "opaque_caller_id", "phone_as_key")


def _personal_in(key: bytes | None, value: bytes | None) -> set[str]:
    """Caller ids and personal numbers a message carries, whatever its shape."""
    found = set()
    for blob in (key or b"", value or b""):
        text = blob.decode("utf-16") if blob[:2] == b"\xff\xfe" else blob.decode("utf-8", "replace")
        found.update(PERSONAL_NUMBER.findall(text))
        found.update(re.findall(r'"caller_id":"([^"]+)"', text))
    return found


def _blobs(record) -> list[bytes]:
    """The bytes of a record, and for a dead letter the bytes its base64 fields stand for."""
    blobs = [record.key or b"", record.value or b""]
    if record.topic == topics.DEADLETTER.name:
        letter = orjson.loads(record.value)
        blobs.append(base64.b64decode(letter["value_base64"]))
        if letter["source"]["key_base64"] is not None:
            blobs.append(base64.b64decode(letter["source"]["key_base64"]))
    return blobs


# Every personal item is a run of 11 or 18 digits (an ID number may end in X) or an opaque
# caller id; a scan looks at each window of those lengths in every digit run.
DIGIT_RUN = re.compile(r"\d{11,}X?")
OPAQUE_CALLER_ID = re.compile(r"wx-openid-\d+")


def _leaks_in(blob: bytes, personal: frozenset[str]) -> set[str]:
    found = set()
    for form in (blob.decode("utf-8", "replace"), blob.decode("utf-16-le", "replace"), blob.decode("utf-16-be", "replace")):
        found.update(OPAQUE_CALLER_ID.findall(form))
        for run in DIGIT_RUN.findall(form):
            found.update(run[start : start + width] for width in (11, 18) for start in range(len(run) - width + 1))
    return found & personal


def _inserted(stream: list, extra: list, rng: random.Random) -> list:
    """`extra` at seeded positions of `stream`, whose messages keep their order."""
    positions = sorted(rng.randrange(len(stream) + 1) for _ in extra)
    mixed, previous = [], 0
    for position, message in zip(positions, extra):
        mixed.extend(stream[previous:position])
        mixed.append(message)
        previous = position
    return mixed + stream[previous:]


@pytest.fixture(scope="module")
def privacy_run(simulated_stream, pipeline_factory) -> PrivacyRun:
    made = PersonalData(SEED, simulated_stream)
    valid = [(appeal["order_id"].encode(), orjson.dumps(appeal)) for appeal in (made.appeal() for _ in range(PERSONAL_APPEALS))]
    malformed = [made.malformed(kind) for kind in MALFORMED_KINDS for _ in range(MALFORMED_PER_KIND)]
    stream = [(orjson.loads(line)["order_id"].encode(), line) for line in simulated_stream.lines()]
    messages = _inserted(stream, valid + malformed, random.Random(SEED))
    personal = frozenset(number for key, value in messages for number in _personal_in(key, value))
    pipeline = pipeline_factory("hotline-privacy")
    pipeline.hotline("offices", "load", str(simulated_stream.offices_path))
    pipeline.produce(messages)
    pipeline.ends_with(simulated_stream)
    pipeline.drain()
    dead_letters = len(read_all(topics.DEADLETTER.name, idle_timeout_ms=3000, servers=pipeline.servers))
    return PrivacyRun(pipeline, personal, len(malformed), dead_letters)


def test_the_input_does_carry_personal_numbers_and_every_malformed_one_was_dead_lettered(privacy_run):
    assert len(privacy_run.personal) > 3000
    assert privacy_run.dead_letters == privacy_run.malformed


def test_no_personal_number_or_caller_id_in_any_topic_but_the_input(privacy_run):
    # given every topic the pipeline writes: derived, dead letters, changelogs, internal
    consumer = KafkaConsumer(bootstrap_servers=privacy_run.pipeline.servers)
    try:
        written = sorted(name for name in consumer.topics() if name != topics.EVENTS.name)
    finally:
        consumer.close()
    assert topics.DEADLETTER.name in written and f"{privacy_run.pipeline.app_id}-orders-changelog" in written
    # then none of their keys, values or dead-lettered bytes holds a personal number
    leaks: Counter = Counter()
    for name in written:
        for record in read_all(name, idle_timeout_ms=2000, servers=privacy_run.pipeline.servers):
            for blob in _blobs(record):
                leaks.update(f"{name}: {number}" for number in _leaks_in(blob, privacy_run.personal))
    assert (len(leaks), sorted(leaks)[:5]) == (0, [])


def test_no_personal_number_or_caller_id_in_the_worker_log_or_metrics(privacy_run):
    worker = privacy_run.pipeline.worker
    with urllib.request.urlopen(worker.url + "/metrics", timeout=10) as response:
        metrics_text = response.read().decode()
    assert sorted(_leaks_in(metrics_text.encode() + b"\n" + worker.log_path.read_bytes(), privacy_run.personal)) == []

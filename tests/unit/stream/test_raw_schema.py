"""hotline.stream.raw_schema.RawBytes makes the event Faust's raw schema makes."""

import asyncio

import faust
import pytest
from faust.types.tuples import Message

from hotline.stream.raw_schema import RawBytes

APP = faust.App("raw-schema-test", broker="kafka://127.0.0.1:1")


@pytest.mark.parametrize("key, value", [(b"GD1", b'{"a":1}'), (None, b"v"), (b"GD1", None), (b"", b"")])
def test_the_event_is_the_one_faust_s_raw_schema_makes(key, value):
    message = Message("hotline.events.v1", 2, 41, 1.5, 0, [("trace", b"7")], key, value, None)
    faust_raw = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw").compile(APP)

    expected, made = asyncio.run(faust_raw(message)), asyncio.run(RawBytes().compile(APP)(message))

    assert type(made) is type(expected)
    assert (made.key, made.value, made.headers, made.app) == (expected.key, expected.value, expected.headers, expected.app)
    assert made.message is message


def test_a_topic_with_it_sends_and_reads_raw_bytes():
    topic = APP.topic("hotline.screened.v1", schema=RawBytes())
    assert (topic.key_type, topic.value_type, topic.key_serializer, topic.value_serializer) == (bytes, bytes, "raw", "raw")
    assert topic.prepare_key(b"GD1", None) == (b"GD1", None)
    assert topic.prepare_value(b"{}", None) == (b"{}", None)

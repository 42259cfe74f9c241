"""The schema of the topics hotline's agents read as raw bytes.

Faust decodes every message through its serializer registry (`Schema.compile`): with
the `raw` codec on key and value it looks up the codec, calls it (which returns the
bytes it was given) and makes the event through `App.create_event`, which reads the
app's settings on each call; about 2 % of a draining worker's main thread. The stages
decode the bytes themselves (hotline.contract.codec), so this schema makes the event
from the message as it is: the same event Faust's raw schema makes.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import AppT
from faust.types.tuples import Message


class RawBytes(faust.Schema):
    """Key and value handed over as the bytes (or None) the message holds."""

    def __init__(self) -> None:
        super().__init__(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def compile(self, app: AppT, **decode_error_handlers: Any):
        make_event = app.conf.Event

        async def decode(message: Message, *, propagate: bool = False) -> faust.EventT:
            return make_event(app, message.key, message.value, message.headers, message)

        return decode

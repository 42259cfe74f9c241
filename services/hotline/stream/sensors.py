"""Faust's sensor hooks on the per-message path, called only where they do something.

Faust (faust-streaming 0.15) calls four sensor hooks for every message a stream reads
(`on_message_in`, `on_stream_event_in`, `on_stream_event_out`, `on_message_out`) through
`SensorDelegate`, which calls each hook of every sensor, whether the sensor's class does
anything in it or not, and builds a dict of their states for two of them. Its default
sensor, `Monitor`, then keeps statistics of every message and event (counts per topic
and stream, time stamps on the message, a deque of event run times) for Faust's own web
pages. hotline counts what it consumes, processes and produces with its Prometheus
metrics (hotline.stream.metrics) and reads neither; the two together were about 3 % of a
draining worker's main thread in `hotline bench --profile`.

`InterestedSensors` replaces the app's `SensorDelegate`: a per-message hook goes only to
the sensors whose class overrides Faust's no-op `Sensor` method for it (the commit hook
of the write-behind tables still runs on every commit, `hotline.stream.write_behind`).
`MonitorWithoutMessageStats`, the app's `Monitor` setting, is Faust's Monitor without
its per-message and per-table-key statistics; everything else it tracks (commits, sends,
rebalances, assignment, end offsets) it still does.
"""

from __future__ import annotations

from typing import Any, Optional

import faust
from faust.sensors import Monitor, SensorDelegate

# The hooks Faust calls per message or per table key.
PER_MESSAGE_HOOKS = (
    "on_message_in",
    "on_stream_event_in",
    "on_stream_event_out",
    "on_message_out",
    "on_table_get",
    "on_table_set",
    "on_table_del",
)


def implements(sensor: Any, hook: str) -> bool:
    """Whether `sensor`'s class does something in `hook` (Faust's `Sensor` does nothing)."""
    return getattr(type(sensor), hook, None) is not getattr(faust.Sensor, hook)


class InterestedSensors(SensorDelegate):
    """Faust's `SensorDelegate` whose per-message hooks skip the sensors that ignore them."""

    def __init__(self, app: faust.App) -> None:
        super().__init__(app)
        self._listeners: dict[str, tuple[Any, ...]] = {hook: () for hook in PER_MESSAGE_HOOKS}

    def add(self, sensor: Any) -> None:
        super().add(sensor)
        self._sort_listeners()

    def remove(self, sensor: Any) -> None:
        super().remove(sensor)
        self._sort_listeners()

    def listeners(self, hook: str) -> tuple[Any, ...]:
        """The sensors a per-message hook is passed on to."""
        return self._listeners[hook]

    def _sort_listeners(self) -> None:
        self._listeners = {hook: tuple(sensor for sensor in self._sensors if implements(sensor, hook)) for hook in PER_MESSAGE_HOOKS}

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        for sensor in self._listeners["on_message_in"]:
            sensor.on_message_in(tp, offset, message)

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> Optional[dict]:
        listeners = self._listeners["on_stream_event_in"]
        if not listeners:
            return None
        return {sensor: sensor.on_stream_event_in(tp, offset, stream, event) for sensor in listeners}

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any, state: Optional[dict] = None) -> None:
        sensor_state = state or {}
        for sensor in self._listeners["on_stream_event_out"]:
            sensor.on_stream_event_out(tp, offset, stream, event, sensor_state.get(sensor))

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        for sensor in self._listeners["on_message_out"]:
            sensor.on_message_out(tp, offset, message)

    def on_table_get(self, table: Any, key: Any) -> None:
        for sensor in self._listeners["on_table_get"]:
            sensor.on_table_get(table, key)

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        for sensor in self._listeners["on_table_set"]:
            sensor.on_table_set(table, key, value)

    def on_table_del(self, table: Any, key: Any) -> None:
        for sensor in self._listeners["on_table_del"]:
            sensor.on_table_del(table, key)


class MonitorWithoutMessageStats(Monitor):
    """Faust's Monitor, minus the statistics it keeps per message and per table key."""

    on_message_in = faust.Sensor.on_message_in
    on_stream_event_in = faust.Sensor.on_stream_event_in
    on_stream_event_out = faust.Sensor.on_stream_event_out
    on_message_out = faust.Sensor.on_message_out
    on_table_get = faust.Sensor.on_table_get
    on_table_set = faust.Sensor.on_table_set
    on_table_del = faust.Sensor.on_table_del


def install(app: faust.App) -> InterestedSensors:
    """Give `app` an `InterestedSensors` delegate; call it before the app makes its
    tables, streams and consumer, which keep the delegate's bound hooks."""
    delegate = InterestedSensors(app)
    for sensor in app.sensors:
        delegate.add(sensor)
    app.sensors = delegate
    return delegate

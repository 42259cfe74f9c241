"""The app's sensor delegate: per-message hooks reach only the sensors that implement
them, every other hook reaches every sensor, as with Faust's own delegate."""

from __future__ import annotations

import faust
from faust.sensors import SensorDelegate

from hotline.stream import sensors, write_behind
from hotline.stream.app import app

TP = ("hotline.events.v1", 0)


class CountsMessages(faust.Sensor):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def on_message_in(self, tp, offset, message):
        self.calls.append(("message_in", offset))

    def on_stream_event_in(self, tp, offset, stream, event):
        self.calls.append(("event_in", offset))
        return {"began": offset}

    def on_stream_event_out(self, tp, offset, stream, event, state=None):
        self.calls.append(("event_out", offset, state))

    def on_message_out(self, tp, offset, message):
        self.calls.append(("message_out", offset))

    def on_table_set(self, table, key, value):
        self.calls.append(("table_set", key))


class CountsCommits(faust.Sensor):
    def __init__(self) -> None:
        super().__init__()
        self.commits = 0

    def on_commit_initiated(self, consumer):
        self.commits += 1
        return "started"


def delegate_with(*added) -> sensors.InterestedSensors:
    delegate = sensors.InterestedSensors(faust.App("hotline-sensors-test", broker="kafka://127.0.0.1:9", web_enabled=False))
    for sensor in added:
        delegate.add(sensor)
    return delegate


def test_per_message_hooks_reach_only_the_sensors_that_implement_them():
    messages, commits = CountsMessages(), CountsCommits()
    delegate = delegate_with(messages, commits)
    assert delegate.listeners("on_message_in") == (messages,)
    assert delegate.listeners("on_table_get") == ()

    delegate.on_message_in(TP, 7, object())
    state = delegate.on_stream_event_in(TP, 7, object(), object())
    delegate.on_stream_event_out(TP, 7, object(), object(), state)
    delegate.on_message_out(TP, 7, object())
    delegate.on_table_set(object(), "order-1", {})
    delegate.on_table_get(object(), "order-1")
    assert state == {messages: {"began": 7}}
    assert messages.calls == [("message_in", 7), ("event_in", 7), ("event_out", 7, {"began": 7}), ("message_out", 7), ("table_set", "order-1")]


def test_other_hooks_reach_every_sensor_as_faust_delegates_them():
    messages, commits = CountsMessages(), CountsCommits()
    delegate = delegate_with(messages, commits)
    state = delegate.on_commit_initiated(consumer=object())
    assert state == {messages: None, commits: "started"}
    assert commits.commits == 1
    delegate.on_commit_completed(object(), state)  # every sensor finds its state


def test_no_listener_leaves_the_stream_state_empty_and_a_removed_sensor_hears_nothing():
    messages = CountsMessages()
    delegate = delegate_with(messages, CountsCommits())
    delegate.remove(messages)
    assert delegate.on_stream_event_in(TP, 1, object(), object()) is None
    delegate.on_stream_event_out(TP, 1, object(), object(), None)
    delegate.on_message_in(TP, 1, object())
    assert messages.calls == []
    assert delegate.listeners("on_stream_event_out") == ()


def test_the_monitor_keeps_no_statistics_per_message_but_still_hears_the_rest():
    monitor = sensors.MonitorWithoutMessageStats()
    delegate = delegate_with(monitor)
    for hook in sensors.PER_MESSAGE_HOOKS:
        assert delegate.listeners(hook) == ()
    delegate.on_message_in(TP, 3, object())
    assert monitor.messages_received_total == 0
    state = delegate.on_commit_initiated(consumer=object())
    delegate.on_commit_completed(object(), state)
    assert len(monitor.commit_latency) == 1 and monitor.commit_latency[0] >= 0


def test_faust_s_monitor_would_count_every_message():
    # What the app leaves out: Faust's own Monitor implements every per-message hook.
    plain = delegate_with(faust.sensors.Monitor())
    assert all(len(plain.listeners(hook)) == 1 for hook in sensors.PER_MESSAGE_HOOKS)


def test_install_keeps_the_sensors_already_added():
    app_under_test = faust.App("hotline-sensors-install", broker="kafka://127.0.0.1:9", web_enabled=False)
    commits = CountsCommits()
    app_under_test.sensors.add(commits)
    delegate = sensors.install(app_under_test)
    assert app_under_test.sensors is delegate
    assert list(delegate) == [commits]


def test_the_worker_app_uses_the_interested_delegate_and_the_quiet_monitor():
    assert isinstance(app.sensors, sensors.InterestedSensors) and isinstance(app.sensors, SensorDelegate)
    assert app.conf.Monitor is sensors.MonitorWithoutMessageStats
    # The write-behind tables' commit hook is a sensor that needs no per-message call.
    assert write_behind.flush_before_commit in list(app.sensors)
    assert all(write_behind.flush_before_commit not in app.sensors.listeners(hook) for hook in sensors.PER_MESSAGE_HOOKS)

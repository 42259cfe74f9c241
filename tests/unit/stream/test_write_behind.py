"""hotline.stream.write_behind: a table's writes reach the changelog once per changed key,
in the order the table's flush rank and the last writes give, when a commit starts."""

from types import SimpleNamespace

import faust
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.stream import write_behind, write_order
from hotline.stream.clocks import merge_flush_rank


class IdentityTopic:
    """A changelog topic whose serialisation leaves keys and values as they are."""

    def get_topic_name(self):
        return "t-changelog"

    def prepare_key(self, key, key_serializer):
        return key, None

    def prepare_value(self, value, value_serializer):
        return value, None


class RecordingTable:
    """What WriteBehindTable uses of a Faust table: its store, the partition of the
    message being handled, and its changelog topic."""

    key_serializer = value_serializer = None
    changelog_topic = IdentityTopic()

    def __init__(self, name: str = "t", stored: dict | None = None):
        self.name = name
        self.data = dict(stored or {})
        self.partition = 0

    def partition_for_key(self, key):
        return self.partition

    def get(self, key, default=None):
        return self.data.get(key, default)

    def items(self):
        return self.data.items()

    def __len__(self):
        return len(self.data)


def sent(records) -> list[tuple[int, str, object]]:
    assert all(record.topic == "t-changelog" for record in records)
    return [(record.partition, record.key, record.value) for record in records]


def test_a_key_written_many_times_is_sent_once_with_its_last_value():
    table = write_behind.WriteBehindTable(RecordingTable())
    for count in range(5):
        table["order-1"] = {"events": count}
    table["order-2"] = {"events": 1}

    assert table.get("order-1") == {"events": 4}  # reads see the write at once
    assert table.pending == 2
    assert sent(table.flush()) == [(0, "order-1", {"events": 4}), (0, "order-2", {"events": 1})]
    assert table.pending == 0
    assert table.flush() == []


def test_records_follow_the_last_writes_and_carry_their_partition():
    table = write_behind.WriteBehindTable(RecordingTable())
    table["a"] = 1
    table.table.partition = 3
    table["b"] = 2
    table.table.partition = 0
    table["a"] = 3  # written again: sent after b

    assert sent(table.flush()) == [(3, "b", 2), (0, "a", 3)]


def test_a_key_that_came_and_went_between_flushes_sends_nothing():
    table = write_behind.WriteBehindTable(RecordingTable())
    table["merge|0|item"] = {"held": True}
    assert table.pop("merge|0|item") == {"held": True}
    assert table.pop("never-written", "default") == "default"

    assert table.flush() == []
    assert "merge|0|item" not in table.table.data


def test_deleting_a_key_the_changelog_holds_sends_a_tombstone():
    table = write_behind.WriteBehindTable(RecordingTable(stored={"order-1": {"events": 2}}))
    table["order-1"] = {"events": 3}
    table.pop("order-1")

    assert sent(table.flush()) == [(0, "order-1", None)]


def test_the_flush_rank_orders_a_merge_table_clocks_last_held_items_first():
    table = write_behind.WriteBehindTable(RecordingTable(stored={"merge|0|old": {"item": 0}}), merge_flush_rank)
    table["merge|0|clocks"] = {"clocks": {"a": 1.0}}
    table["merge|0|new"] = {"item": 1}
    table["office-1"] = {"count": 1}
    table.pop("merge|0|old")
    table["merge|0|held"] = {"item": 2}

    assert [key for _, key, _ in sent(table.flush())] == ["merge|0|new", "merge|0|held", "office-1", "merge|0|old", "merge|0|clocks"]


def test_writes_outside_a_stream_fail_as_faust_writes_do():
    class NoEvent(RecordingTable):
        def partition_for_key(self, key):
            raise TypeError("Cannot modify table key from outside of stream iteration")

    table = write_behind.WriteBehindTable(NoEvent())
    try:
        table["key"] = 1
    except TypeError:
        pass
    else:
        raise AssertionError("a write outside a stream was accepted")
    assert table.pending == 0 and "key" not in table.table.data


operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("abcde"), st.integers(0, 3)),
        st.tuples(st.just("pop"), st.sampled_from("abcde"), st.just(0)),
        st.tuples(st.just("flush"), st.just(""), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(stored=st.dictionaries(st.sampled_from("abcde"), st.integers(0, 3)), steps=operations)
def test_the_changelog_replayed_equals_the_table_after_each_flush(stored, steps):
    """What a restarted worker restores from the changelog is the table as it was at
    the last flush, and a flush sends at most one record per key."""
    table = write_behind.WriteBehindTable(RecordingTable(stored=stored))
    restored = dict(stored)
    at_last_flush = dict(stored)
    for operation, key, value in [*steps, ("flush", "", 0)]:
        if operation == "put":
            table[key] = value
        elif operation == "pop":
            table.pop(key)
        else:
            records = sent(table.flush())
            assert len({key for _, key, _ in records}) == len(records)
            for _, record_key, record_value in records:
                if record_value is None:
                    assert record_key in restored  # a tombstone only for what the changelog holds
                    restored.pop(record_key)
                else:
                    restored[record_key] = record_value
            at_last_flush = dict(table.table.data)
            assert restored == at_last_flush
    assert restored == at_last_flush == table.table.data


def test_faust_calls_the_flush_when_a_commit_starts_and_the_records_are_queued_as_one_checkpoint():
    app = faust.App("write-behind-test", broker="kafka://127.0.0.1:1")
    hand_over = write_order.ChangelogHandOver(write_order.UnacknowledgedSends())
    sensor = write_behind.FlushBeforeCommit(hand_over)
    orders, offices = write_behind.WriteBehindTable(RecordingTable()), write_behind.WriteBehindTable(RecordingTable())
    sensor.tables.extend([orders, offices])
    app.sensors.add(sensor)
    orders["order-1"] = 1
    offices["office-1"] = 2

    # Faust's Consumer.force_commit calls this before it picks the offsets to commit.
    app.sensors.on_commit_initiated(SimpleNamespace())

    assert [sent(records) for _, records in hand_over.queued] == [[(0, "order-1", 1), (0, "office-1", 2)]]
    assert hand_over.pending == 2
    app.sensors.on_commit_initiated(SimpleNamespace())  # nothing written since: no checkpoint
    assert len(hand_over.queued) == 1


def test_a_commit_s_duration_is_observed_from_its_start_to_its_completion(monkeypatch):
    app = faust.App("write-behind-commit-test", broker="kafka://127.0.0.1:1")
    sensor = write_behind.FlushBeforeCommit(write_order.ChangelogHandOver(write_order.UnacknowledgedSends()))
    app.sensors.add(sensor)
    clock = iter([100.0, 100.75])
    monkeypatch.setattr(write_behind, "monotonic", lambda: next(clock))
    before = _commit_duration_samples()

    # Faust's force_commit hands what on_commit_initiated returned to on_commit_completed.
    state = app.sensors.on_commit_initiated(SimpleNamespace())
    app.sensors.on_commit_completed(SimpleNamespace(), state)

    after = _commit_duration_samples()
    assert (after["count"] - before["count"], after["sum"] - before["sum"]) == (1, 0.75)
    assert after["le_0.5"] - before["le_0.5"] == 0 and after["le_1.0"] - before["le_1.0"] == 1


def _commit_duration_samples() -> dict:
    from prometheus_client import REGISTRY

    samples = {}
    for sample in REGISTRY.collect():
        for s in sample.samples:
            if s.name == "hotline_offset_commit_duration_seconds_count":
                samples["count"] = s.value
            elif s.name == "hotline_offset_commit_duration_seconds_sum":
                samples["sum"] = s.value
            elif s.name == "hotline_offset_commit_duration_seconds_bucket":
                samples["le_" + s.labels["le"]] = s.value
    return samples

"""hotline.stream.table_partitions: a table write notes its entry's partition in the
in-memory store, so Faust drops the entries of partitions handed over at a rebalance.
The table is a stand-in; the patched method is Faust's own, with the changelog send it
wraps replaced by a recorder."""

import asyncio
from types import SimpleNamespace

from faust.stores.memory import Store
from faust.tables.base import Collection
from faust.types import TP

from hotline.stream import table_partitions

table_partitions.install()


class StandInTable:
    send_changelog = Collection.send_changelog

    def __init__(self):
        self.data = Store.__new__(Store)  # Faust's in-memory store, without an app
        self.data.__post_init__()
        self.sent = []


def _write(table, partition, key, value):
    def original(self, partition, key, value, key_serializer=None, value_serializer=None):
        self.sent.append((partition, key, value))
        return SimpleNamespace(message=SimpleNamespace(partition=partition))

    saved = table_partitions._original_send_changelog
    table_partitions._original_send_changelog = original
    try:
        if value is None:
            table.data.data.pop(key, None)
        else:
            table.data.data[key] = value
        return table.send_changelog(partition, key, value)
    finally:
        table_partitions._original_send_changelog = saved


def test_entries_a_worker_wrote_leave_its_memory_with_their_partition():
    # given a worker that wrote entries of partitions 0 and 3, and deleted one of 0
    table = StandInTable()
    _write(table, 0, "GD-1", b"{}")
    _write(table, 3, "GD-2", b"{}")
    _write(table, 0, "GD-3", b"{}")
    _write(table, 0, "GD-3", None)
    assert table.data._key_partition == {"GD-1": 0, "GD-2": 3}
    # when a rebalance leaves it partition 3 only (Faust's store, once recovery completes)
    changelog = "hotline-orders-changelog"
    asyncio.run(table.data.on_recovery_completed({TP(changelog, 3)}, set()))
    # then only the entry of partition 3 is left, and every write went to the changelog
    assert table.data.data == {"GD-2": b"{}"}
    assert table.sent == [(0, "GD-1", b"{}"), (3, "GD-2", b"{}"), (0, "GD-3", b"{}"), (0, "GD-3", None)]

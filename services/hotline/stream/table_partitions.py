"""A worker keeps in memory only the table entries of the partitions it owns.

Faust's in-memory store drops, when a recovery completes, the entries of partitions no
longer assigned to the worker, but it knows an entry's partition only if it read the
entry from the changelog; entries the worker wrote itself stayed after their partition
moved to another worker. After a second worker joined, the first one went on counting
the orders of partitions it had handed over: in a run where the group drained, its
`hotline_orders_waiting_for_case_link` stayed at 396 and its merges at 42 (dedupe) and
20 (pressure) items, and its views served those entries as they were at the handover.
`install()` makes every table write (and delete) note the entry's partition in the store,
so Faust drops them with the others.
"""

from __future__ import annotations

from faust.tables.base import Collection

_original_send_changelog = Collection.send_changelog


def _send_changelog_noting_the_partition(self: Collection, partition, key, value, key_serializer=None, value_serializer=None):
    future = _original_send_changelog(self, partition, key, value, key_serializer, value_serializer)
    key_partition = getattr(self.data, "_key_partition", None)  # the in-memory store's
    if key_partition is not None:
        if value is None:
            key_partition.pop(key, None)
        else:
            key_partition[key] = future.message.partition
    return future


def install() -> None:
    """Patch Faust's tables (idempotent)."""
    Collection.send_changelog = _send_changelog_noting_the_partition

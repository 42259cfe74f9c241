"""Table writes kept in memory and sent to the changelog once per changed key, at the
next offset commit (what Kafka Streams' record cache does).

Faust sends a changelog record for every table write: an order is written on each of its
events, an office on each of its facts, a merge's held item once when it arrives and once
more when it is handled, and the orders watermark on nearly every event. A worker sent
6.1 changelog records per input event that way, each through Faust's producer buffer.
`WriteBehindTable` writes the value into the table's store at once (every read sees it)
and notes the key; `flush()` sends one record per noted key with its value at that
moment, and nothing for a key that came and went between two flushes.

`FlushBeforeCommit` flushes every such table when Faust starts an offset commit
(`Sensor.on_commit_initiated`, which Faust calls synchronously before it picks the offsets
to commit), so the records of every acknowledged message are taken before the commit
that covers it; hotline.stream.write_order hands them to the producer behind the sends
issued before them, in one go, and makes the commit wait until they are delivered. A
worker that dies loses at most what it did since its last commit, and reads that input
again: the state it restores and the offset it resumes from belong together, as with a
record per write. Faust commits when partitions are revoked, but skips that commit while
another is under way; the app flushes again, and waits for delivery, before it hands
partitions over.

A crash can also leave only the start of a flush in the changelog. The records go out in
the order their keys were last written, after the table's `flush_rank`: a merge's clocks
after the state and the handled items (hotline.stream.clocks.merge_flush_rank), the
orders watermark after the orders it checked (hotline.stream.agents.orders).
"""

from __future__ import annotations

from time import monotonic
from typing import Any, Callable, Iterator

import faust

from hotline.stream import metrics
from hotline.stream.write_order import changelog, ChangelogHandOver, ChangelogRecord

_NOT_NOTED = object()


class WriteBehindTable:
    """A Faust table whose writes reach the changelog at `flush()`, once per changed key.

    Reads and everything else go to the Faust table. A write needs the message being
    handled, as Faust's own writes do: its partition is the changelog partition."""

    def __init__(self, table: faust.TableT, flush_rank: Callable[[str, Any], int] | None = None):
        self.table = table
        self.flush_rank = flush_rank
        # key -> (partition, whether the changelog holds the key), in the order keys were
        # last written: a key written again moves to the end.
        self._noted: dict[str, tuple[int, bool]] = {}
        self._records = metrics.TABLE_WRITES.labels(table=table.name, outcome="changelog_record")
        self._coalesced = metrics.TABLE_WRITES.labels(table=table.name, outcome="coalesced")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def get(self, key: str, default: Any = None) -> Any:
        # The store itself: Faust's `get` goes through `__getitem__`, its sensors'
        # `on_table_get` and a KeyError for a missing key (these tables have no default).
        return self.table.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.table[key]

    def __contains__(self, key: str) -> bool:
        return key in self.table

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def __setitem__(self, key: str, value: Any) -> None:
        self._note(key)
        self.table.data[key] = value

    def pop(self, key: str, default: Any = None) -> Any:
        if key not in self.table.data:
            return default
        self._note(key)
        return self.table.data.pop(key)

    @property
    def pending(self) -> int:
        """Keys written since the last flush."""
        return len(self._noted)

    def flush(self) -> list[ChangelogRecord]:
        """A changelog record for every key written since the last flush (a tombstone for
        a deleted key the changelog holds), with the value it has now."""
        noted, self._noted = self._noted, {}
        data = self.table.data
        writes = [(key, partition, held, data.get(key)) for key, (partition, held) in noted.items()]
        if self.flush_rank is not None:
            writes.sort(key=lambda write: self.flush_rank(write[0], write[3]))  # stable: last written last
        topic = self.table.changelog_topic
        topic_name = topic.get_topic_name()
        key_serializer = self.table.key_serializer
        value_serializer = self.table.value_serializer
        records = []
        for key, partition, held, value in writes:
            if value is None and not held:
                continue  # written and deleted since the last flush: the changelog never had it
            # Faust's own serialisation, so the changelog holds what Faust's writes would.
            key_bytes, _ = topic.prepare_key(key, key_serializer)
            value_bytes = None if value is None else topic.prepare_value(value, value_serializer)[0]
            records.append(ChangelogRecord(topic_name, partition, key_bytes, value_bytes, data))
        self._records.inc(len(records))
        return records

    def _note(self, key: str) -> None:
        partition = self.table.partition_for_key(key)  # raises outside a stream, as Faust's writes do
        earlier = self._noted.pop(key, _NOT_NOTED)
        if earlier is _NOT_NOTED:
            held = key in self.table.data
        else:
            held = earlier[1]
            self._coalesced.inc()
        self._noted[key] = (partition, held)


class FlushBeforeCommit(faust.Sensor):
    """Flushes the write-behind tables when Faust starts an offset commit."""

    def __init__(self, hand_over: ChangelogHandOver = changelog) -> None:
        super().__init__()
        self.hand_over = hand_over
        self.tables: list[WriteBehindTable] = []

    def flush(self) -> int:
        """Queue one checkpoint of every table's records for the producer; returns how many."""
        records = [record for table in self.tables for record in table.flush()]
        self.hand_over.queue(records)
        return len(records)

    def on_commit_initiated(self, consumer: Any) -> Any:
        started = monotonic()
        self.flush()
        return started

    def on_commit_completed(self, consumer: Any, state: Any) -> None:
        metrics.OFFSET_COMMIT_DURATION.observe(monotonic() - state)


flush_before_commit = FlushBeforeCommit()

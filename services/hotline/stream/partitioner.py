"""The producers' partitioner: Kafka's default, which keeps the hashes of recent keys.

A keyed message goes to partition murmur2(key) mod the partition count, as with the Java
client and aiokafka's `DefaultPartitioner`, so hotline's producers and any other Kafka
client agree on where a key lives (co-partitioning depends on it). aiokafka computes
murmur2 in Python, about 3.5 us a key; a worker partitions two to three messages per
input event, most under a key it used moments before: an order's screened event, its
deadline events and its case link, an office's facts, the rates stage's one key. The
hashes of the last `KEPT_KEYS` keys are kept.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

from aiokafka.partitioner import DefaultPartitioner, murmur2

KEPT_KEYS = 65_536


@functools.lru_cache(maxsize=KEPT_KEYS)
def _kept_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def key_hash(key: Any) -> int:
    """murmur2 of `key` as a non-negative int, as Kafka partitions by it."""
    try:
        return _kept_hash(key)
    except TypeError:  # unhashable (a bytearray): not kept
        return murmur2(key) & 0x7FFFFFFF


class KeptHashPartitioner:
    """aiokafka's partitioner interface: `(key, all_partitions, available) -> partition`."""

    def __init__(self) -> None:
        self._keyless = DefaultPartitioner()

    def __call__(self, key: Any, all_partitions: Sequence[int], available: Sequence[int]) -> int:
        if key is None:
            return self._keyless(key, all_partitions, available)
        return all_partitions[key_hash(key) % len(all_partitions)]

"""The producers' partitioner puts every key where Kafka's default partitioner does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from hotline.stream import partitioner
from hotline.stream.app import app


@given(key=st.binary(max_size=80), partitions=st.integers(min_value=1, max_value=64))
def test_a_key_goes_to_the_partition_kafka_s_default_picks_each_time(key, partitions):
    all_partitions = list(range(partitions))
    kept = partitioner.KeptHashPartitioner()
    expected = DefaultPartitioner()(key, all_partitions, all_partitions)
    assert kept(key, all_partitions, all_partitions) == expected
    assert kept(key, all_partitions, all_partitions) == expected  # the kept hash


def test_known_keys_land_where_the_java_client_puts_them():
    # murmur2 values of Kafka's own partitioner tests (Utils.murmur2, positive part).
    kept = partitioner.KeptHashPartitioner()
    assert partitioner.key_hash(b"21") == -973932308 & 0x7FFFFFFF
    assert partitioner.key_hash(b"foobar") == -790332482 & 0x7FFFFFFF
    assert kept(b"foobar", list(range(8)), []) == (-790332482 & 0x7FFFFFFF) % 8


def test_an_unhashable_key_is_hashed_without_being_kept():
    assert partitioner.key_hash(bytearray(b"foobar")) == partitioner.key_hash(b"foobar")


def test_a_keyless_message_goes_to_an_available_partition():
    kept = partitioner.KeptHashPartitioner()
    assert {kept(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}


def test_the_worker_app_partitions_with_it():
    assert isinstance(app.conf.producer_partitioner, partitioner.KeptHashPartitioner)

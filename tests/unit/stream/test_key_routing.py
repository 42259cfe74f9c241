from faust.app.router import Router as FaustRouter
from kafka.partitioner.default import murmur2

from hotline.stream import key_routing
from hotline.stream.agents.orders import orders_table
from hotline.stream.app import app

PARTITIONS = list(range(8))


def _partition(key: bytes) -> int:
    # The partition Kafka's default partitioner (murmur2) gives a key: where the
    # producers of the input topics, and so the tables' entries, put it.
    return (murmur2(key) & 0x7FFFFFFF) % len(PARTITIONS)


def test_the_project_router_hashes_the_key_as_the_topics_carry_it():
    serialized = key_routing.Router._get_serialized_key(orders_table.table, "GD2026030200002")
    assert serialized == b"GD2026030200002"
    assert _partition(serialized) == _partition("GD2026030200002".encode())


def test_faust_router_hashes_the_json_of_the_key_and_names_another_partition():
    # The upstream behaviour the project's Router works around: when this fails, faust
    # hashes the raw key and `hotline.stream.key_routing` can go.
    serialized = FaustRouter._get_serialized_key(orders_table.table, "GD2026030200002")
    assert serialized == b'"GD2026030200002"'
    assert _partition(serialized) != _partition(b"GD2026030200002")


def test_the_app_routes_with_the_project_router():
    assert isinstance(app.router, key_routing.Router)

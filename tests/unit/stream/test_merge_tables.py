"""hotline.stream.clocks.MergeTables over a plain dict standing in for the stage's table:
a released item stays in the table until the stage has handled it, so a restart (a new
MergeTables rebuilt from the table) releases again exactly what was not handled."""

from hotline.stream.clocks import MergeTables, merge_item
from hotline.contract import codec

SOURCES = ("screen/0", "screen/1", "screen/2", "screen/3")


def _promise(source: str, at_seconds: float) -> dict:
    return {"clock_of": source, "at_seconds": at_seconds}


def _item(at_seconds: float, key: str) -> dict:
    return codec.decode(merge_item(at_seconds, key, {"order_id": key}))


def _merges(table: dict) -> MergeTables:
    return MergeTables("dedupe", ("screen",), table)


def test_released_items_stay_in_the_table_until_handled_and_a_restart_releases_them_again():
    table = {"entry|GD1": {"partition": 2}}  # the stage's own state shares the table
    merges = _merges(table)
    assert merges.accept(2, _item(20.0, "GD2")) == []
    assert merges.accept(2, _item(10.0, "GD1")) == []
    for source in SOURCES[:3]:
        assert merges.accept(2, _promise(source, 30.0)) == []
    released = merges.accept(2, _promise(SOURCES[3], 15.0))
    assert [item.key for item in released] == ["GD1"]
    # when the worker dies before the stage handled GD1, a rebuilt merge releases it again
    restarted = _merges(dict(table))
    assert [item.key for item in restarted.accept(2, _promise(SOURCES[3], 15.0))] == ["GD1"]
    # once handled, it is gone from the table: after a restart only GD2 is held
    merges.handled(2, released)
    assert sorted(key for key in table if MergeTables.owns(key)) == ["merge|2|0000000000020.000000|GD2", "merge|2|clocks"]
    assert [item.key for item in _merges(dict(table)).accept(2, _promise(SOURCES[3], 25.0))] == ["GD2"]
    assert table["entry|GD1"] == {"partition": 2}


def _pending_gauge(stage: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("hotline_merge_pending_items", {"stage": stage})


def test_the_pending_items_gauge_counts_what_the_merges_hold_when_it_is_read():
    merges = MergeTables("escalate", ("screen",), {})
    assert _pending_gauge("escalate") == 0
    merges.accept(1, _item(20.0, "GD2"))
    merges.accept(3, _item(10.0, "GD1"))
    merges.accept(3, _item(12.0, "GD3"))
    assert _pending_gauge("escalate") == 3
    for source in SOURCES:
        merges.accept(3, _promise(source, 11.0))  # releases GD1 of partition 3
    assert _pending_gauge("escalate") == 2

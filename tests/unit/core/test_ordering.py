import random

import pytest
from hypothesis import given, settings, strategies as st

from hotline.core.ordering import MergeItem, OrderedMerge, StampClock


def test_nothing_is_released_until_every_source_has_a_clock():
    merge = OrderedMerge(["a", "b"])
    merge.offer(MergeItem(10.0, "x"))
    merge.advance("a", 100.0)
    assert merge.release() == []
    merge.advance("b", 11.0)
    assert [item.key for item in merge.release()] == ["x"]


def test_items_are_released_strictly_before_the_slowest_clock_in_time_then_key_order():
    merge = OrderedMerge(["a", "b"], clocks={"a": 0.0, "b": 0.0})
    for at, key in [(5.0, "late"), (3.0, "b2"), (3.0, "a1"), (7.0, "edge")]:
        merge.offer(MergeItem(at, key))
    merge.advance("a", 50.0)
    merge.advance("b", 7.0)
    assert [(item.at_seconds, item.key) for item in merge.release()] == [(3.0, "a1"), (3.0, "b2"), (5.0, "late")]
    assert [item.key for item in merge.pending()] == ["edge"]


def test_a_clock_never_moves_back_and_unknown_sources_are_refused():
    merge = OrderedMerge(["a"])
    assert merge.advance("a", 10.0) is True
    assert merge.advance("a", 5.0) is False
    assert merge.clocks == {"a": 10.0}
    with pytest.raises(ValueError, match="unknown merge source 'z'"):
        merge.advance("z", 1.0)


def test_a_redelivered_item_is_held_once():
    merge = OrderedMerge(["a"])
    assert merge.offer(MergeItem(1.0, "k", {"v": 1})) is True
    assert merge.offer(MergeItem(1.0, "k", {"v": 1})) is False
    merge.advance("a", 2.0)
    assert merge.release() == [MergeItem(1.0, "k", {"v": 1})]


def test_state_restored_from_its_parts_releases_the_same_items():
    merge = OrderedMerge(["a", "b"], clocks={"a": 4.0})
    merge.offer(MergeItem(2.0, "x", {"n": 1}))
    merge.offer(MergeItem(1.0, "y", {"n": 2}))
    restored = OrderedMerge(["a", "b"], clocks=dict(merge.clocks), items=[MergeItem.from_dict(i.to_dict()) for i in merge.pending()])
    merge.advance("b", 3.0)
    restored.advance("b", 3.0)
    assert restored.release() == merge.release() == [MergeItem(1.0, "y", {"n": 2}), MergeItem(2.0, "x", {"n": 1})]


def _source_streams(seed: int) -> dict[str, list[tuple[str, float, str]]]:
    """Per source: items stamped at or after its clock, clocks non-decreasing (as upstream stamps them)."""
    rng = random.Random(seed)
    streams = {}
    for source in ("s0", "s1", "s2"):
        clock = 0.0
        steps = []
        for index in range(40):
            if rng.random() < 0.3:
                clock += rng.choice([0.0, 1.0, 5.0])
                steps.append(("clock", clock, ""))
            else:
                steps.append(("item", clock + rng.choice([0.0, 0.0, 2.0, 9.0]), f"{source}-{index}"))
        steps.append(("clock", 1e9, ""))
        streams[source] = steps
    return streams


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), interleaving=st.randoms(use_true_random=False))
def test_any_interleaving_of_the_sources_releases_the_same_sequence(seed, interleaving):
    streams = _source_streams(seed)

    def run(pick) -> list[str]:
        merge = OrderedMerge(streams)
        cursors = {source: 0 for source in streams}
        released = []
        while any(cursors[s] < len(streams[s]) for s in streams):
            source = pick([s for s in streams if cursors[s] < len(streams[s])])
            kind, at, key = streams[source][cursors[source]]
            cursors[source] += 1
            if kind == "clock":
                merge.advance(source, at)
            else:
                merge.offer(MergeItem(at, key))
            released.extend(item.key for item in merge.release())
        return released

    round_robin = run(lambda live: live[0])
    shuffled = run(interleaving.choice)
    expected = sorted(
        ((at, key) for steps in streams.values() for kind, at, key in steps if kind == "item"),
    )
    assert round_robin == shuffled == [key for _, key in expected]


def test_stamps_are_the_highest_event_time_so_far_and_move_the_clock():
    clock = StampClock()
    assert [clock.stamp(offset, at) for offset, at in enumerate([10.0, 12.0, 11.0, 15.0])] == [10.0, 12.0, 12.0, 15.0]
    assert (clock.clock_seconds, clock.covered_offset) == (15.0, 3)


def test_a_tick_moves_the_clock_but_covers_no_input():
    clock = StampClock(20.0, covered_offset=7)
    assert clock.advance(30.0) == 30.0
    assert clock.advance(25.0) == 30.0
    assert (clock.clock_seconds, clock.covered_offset) == (30.0, 7)
    assert clock.stamp(8, 26.0) == 30.0


def test_input_read_again_after_a_restart_gets_the_stamps_of_its_first_reading():
    # given a partition whose input is in time order, stamped once in full
    times = [100.0, 101.0, 101.0, 104.0, 107.0, 109.0, 110.0]
    first = StampClock()
    first_stamps = [first.stamp(offset, at) for offset, at in enumerate(times)]
    # and a clock restored as stored after offset 5, the input re-read from offset 2
    restored = StampClock(first_stamps[5], covered_offset=5)
    again = [restored.stamp(offset, times[offset]) for offset in range(2, len(times))]
    # then every message keeps its first stamp and the clock only moves with new input
    assert again == first_stamps[2:]
    assert (restored.clock_seconds, restored.covered_offset) == (110.0, 6)


def test_input_read_again_is_never_stamped_past_the_restored_clock():
    restored = StampClock(50.0, covered_offset=3)
    assert [restored.stamp(offset, at) for offset, at in [(1, 40.0), (2, 45.0), (3, 42.0)]] == [40.0, 45.0, 45.0]
    assert restored.clock_seconds == 50.0
    assert restored.stamp(4, 48.0) == 50.0

import logging

from hotline.stream.logfilters import RepeatLimiter


def record(msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, msg, args, None)


def test_a_repeated_line_passes_once_per_interval_and_then_says_how_many_were_held_back():
    now = [0.0]
    limiter = RepeatLimiter(10.0, clock=lambda: now[0])
    passed = []
    for step in range(25):
        now[0] = step * 1.0
        line = record("Unable connect to node with id %s: %s", 1, "refused")
        if limiter.filter(line):
            passed.append((now[0], line.getMessage()))
    assert passed == [
        (0.0, "Unable connect to node with id 1: refused"),
        (10.0, "Unable connect to node with id 1: refused (9 more like this in the last 10s)"),
        (20.0, "Unable connect to node with id 1: refused (9 more like this in the last 10s)"),
    ]


def test_different_lines_are_limited_separately():
    limiter = RepeatLimiter(10.0, clock=lambda: 0.0)
    assert [limiter.filter(record(m)) for m in ("a", "b", "a", "b")] == [True, True, False, False]


def test_lines_that_differ_only_in_their_numbers_are_repeats():
    # given Faust's producer writing the buffer size into the message itself
    now = [0.0]
    limiter = RepeatLimiter(10.0, clock=lambda: now[0])
    passed = []
    for step, size in enumerate([110, 104, 113, 101, 115, 230]):
        now[0] = step * 3.0
        line = logging.LogRecord("faust.transport.producer", logging.WARNING, __file__, 1, f"producer buffer full size {size}", (), None)
        if limiter.filter(line):
            passed.append(line.getMessage())
    # then one line per interval, the latest figures, and the count held back
    assert passed == ["producer buffer full size 110", "producer buffer full size 115 (3 more like this in the last 12s)"]

"""The orders-table memory phase: which orders count as open, and the table it holds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hotline.bench import order_memory
from hotline.contract import codec
from hotline.core.order_flow import OrderRecord
from hotline.core.orders import OrderState

RETENTION = timedelta(days=14)
CLOSED_AT = datetime(2026, 1, 6, 9, 30, tzinfo=timezone.utc)


def _record(order_id: str, status: str) -> OrderRecord:
    last_event_at = CLOSED_AT if status in ("closed", "answered") else None
    return OrderRecord(order=OrderState(order_id=order_id, status=status, last_event_at=last_event_at))


def test_only_orders_neither_closed_nor_answered_are_open():
    statuses = ["received", "dispatched", "signed", "returned", "resolved", "reopened", "closed", "answered"]
    open_statuses = [status for status in statuses if order_memory.is_open(_record("o-1", status))]
    assert open_statuses == ["received", "dispatched", "signed", "returned", "resolved", "reopened"]


def test_stored_value_is_what_the_orders_agent_writes_to_its_table():
    # given an open order and a closed one on partition 3
    open_value = order_memory.stored_value(_record("o-1", "signed"), 3, RETENTION)
    closed_value = order_memory.stored_value(_record("o-2", "closed"), 3, RETENTION)
    # then the value is the stored record with its partition, and only the closed one may be forgotten
    assert open_value == {**_record("o-1", "signed").to_dict(), "p": 3}
    assert closed_value == {**_record("o-2", "closed").to_dict(), "p": 3, "d": int((CLOSED_AT + RETENTION).timestamp())}


def test_table_is_rebuilt_from_its_lines_in_each_stored_form():
    # given the lines of two open orders
    values = {order_id: order_memory.stored_value(_record(order_id, "signed"), 0, RETENTION) for order_id in ("o-1", "o-2")}
    lines = [order_memory.table_line(order_id, codec.encode(value)) for order_id, value in values.items()]
    # when held as dicts, then each value decodes to what was stored
    assert order_memory.build_table(lines, order_memory.STORED_FORMS["dict"]) == values
    # when held as orjson bytes, then each value is the codec's bytes, without the newline
    assert order_memory.build_table(lines, order_memory.STORED_FORMS["orjson"]) == {
        order_id: codec.encode(value) for order_id, value in values.items()
    }


def test_timing_loads_and_stores_every_order_of_the_file(tmp_path):
    # given a table file of two open orders
    table = tmp_path / "table.tsv"
    values = {order_id: order_memory.stored_value(_record(order_id, "signed"), 0, RETENTION) for order_id in ("o-1", "o-2")}
    table.write_bytes(b"".join(order_memory.table_line(order_id, codec.encode(value)) for order_id, value in values.items()))
    # when they are timed, then both are, and each step takes some time
    timed = order_memory.timing(table, RETENTION)
    assert timed["orders"] == 2
    assert timed["load_us"] > 0 and timed["store_us"] > 0

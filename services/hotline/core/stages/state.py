"""What a stage handler returns, and the view of stored state it reads.

A step's `sent` messages name their destination (the constants below) and carry a JSON
value; its `written` values replace the stored value of a key (None deletes it). Table
values keep the layout the stage always wrote, so a changelog written by an older
worker still loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, TypeVar

Item = TypeVar("Item")
StepT = TypeVar("StepT", bound="Step")

# Where a step's messages go; the agents map these to their topics.
APPEALS_BY_PLACE = "appeals_by_place"
CASES = "cases"
ESCALATIONS = "escalations"
OFFICE_FACTS = "office_facts"
PRESSURE = "pressure"
ALERTS = "alerts"


@dataclass(frozen=True)
class Sent:
    """A message to send: topic, key, JSON value."""

    topic: str
    key: str
    value: dict[str, Any]


@dataclass(frozen=True)
class Written:
    """A table write: the key's new value, or None to delete it."""

    key: str
    value: dict[str, Any] | None


@dataclass
class Step:
    """What handling one input led to."""

    sent: list[Sent] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)


@dataclass(frozen=True)
class Failed(Generic[Item]):
    """An input the handler could not handle; the caller dead-letters it and goes on."""

    item: Item
    error: Exception


class StateView:
    """The stored state as the steps of one batch see it: what the table holds, with the
    batch's earlier writes on top (the caller stores them only after the batch)."""

    def __init__(self, stored: Callable[[str], Any]):
        self._stored = stored
        self._pending: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self._pending[key] if key in self._pending else self._stored(key)

    def put(self, step: Step, key: str, value: dict[str, Any] | None) -> None:
        self._pending[key] = value
        step.written.append(Written(key, value))

    def pop(self, step: Step, key: str) -> Any:
        """Delete a key (recorded only if it is stored); returns the value it had."""
        value = self.get(key)
        if value is not None:
            self.put(step, key, None)
        return value

    def child(self) -> "StateView":
        """A view for one step whose writes reach this view only through `adopt`."""
        return StateView(self.get)

    def adopt(self, child: "StateView") -> None:
        self._pending.update(child._pending)


def handle_each(
    items: Iterable[Item], view: StateView, handle_one: Callable[[StateView, Item], StepT]
) -> list[StepT | Failed[Item]]:
    """`handle_one` on every item in order; an item that raises becomes a `Failed` and its
    table writes are dropped, so one poisoned input never stops the others."""
    outcomes: list[StepT | Failed[Item]] = []
    for item in items:
        scratch = view.child()
        try:
            step = handle_one(scratch, item)
        except Exception as error:  # a bug in a rule must not stop the worker
            outcomes.append(Failed(item, error))
            continue
        view.adopt(scratch)
        outcomes.append(step)
    return outcomes


"""Typed execution events, named and shaped exactly like ComfyUI's websocket messages, and the bus.

One event stream feeds the websocket, the CLI progress bars, ``--events`` JSON lines and the history's
``status.messages``; nobody formats a message by hand. Field order in each model is the order ComfyUI
sends, so ``message()`` output is byte-compatible with ComfyUI clients.

Constructing a validated event costs about 2 µs (pydantic-core), less than ``model_construct``, so the
executor simply validates; it skips per-node events altogether when the bus has no subscriber.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from enum import IntEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SkipValidation
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

log = logging.getLogger(__name__)


class BinaryEventTypes(IntEnum):
    """The first four bytes of a binary websocket frame (ComfyUI's ``server.BinaryEventTypes``)."""

    PREVIEW_IMAGE = 1
    UNENCODED_PREVIEW_IMAGE = 2
    TEXT = 3
    PREVIEW_IMAGE_WITH_METADATA = 4


def now_ms() -> int:
    return int(time.time() * 1000)


class Event(BaseModel):
    """Base of every event; ``type`` is the websocket message name."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    type: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def message(self) -> dict[str, Any]:
        """The websocket JSON message: ``{"type": ..., "data": ...}``."""
        return {"type": self.type, "data": self.data()}

    def message_json(self) -> str:
        """``message()`` as JSON text, serialised by pydantic-core (several times faster than json.dumps)."""
        return f'{{"type": "{self.type}", "data": {self.data_json()}}}'

    def data_json(self) -> str:
        return self.model_dump_json()


class ExecutionStart(Event):
    type: ClassVar[str] = "execution_start"
    prompt_id: str
    timestamp: int


class ExecutionCached(Event):
    type: ClassVar[str] = "execution_cached"
    nodes: list[str]
    prompt_id: str
    timestamp: int


class Executing(Event):
    type: ClassVar[str] = "executing"
    node: str | None
    display_node: str | None = None
    prompt_id: str

    def data(self) -> dict[str, Any]:
        if self.node is None:  # the end-of-prompt form carries no display_node
            return {"node": None, "prompt_id": self.prompt_id}
        return {"node": self.node, "display_node": self.display_node, "prompt_id": self.prompt_id}

    def data_json(self) -> str:
        return json.dumps(self.data())


class Progress(Event):
    type: ClassVar[str] = "progress"
    value: int | float
    max: int | float
    prompt_id: str
    node: str


class NodeProgress(TypedDict):
    """One node's entry in ``progress_state`` (ComfyUI's field names)."""

    value: int | float
    max: int | float
    state: Literal["pending", "running", "finished", "error"]
    node_id: str
    prompt_id: str
    display_node_id: str
    parent_node_id: str | None
    real_node_id: str


class ProgressState(Event):
    """Only the nodes whose state changed since the last ``progress_state`` of this prompt.

    ``nodes`` is not validated: the executor builds it (validating a dict per node would cost more than the
    whole rest of a no-op node).
    """

    type: ClassVar[str] = "progress_state"
    prompt_id: str
    nodes: SkipValidation[dict[str, NodeProgress]]


class Executed(Event):
    type: ClassVar[str] = "executed"
    node: str
    display_node: str
    output: dict[str, Any] | None
    prompt_id: str


class ExecutionSuccess(Event):
    type: ClassVar[str] = "execution_success"
    prompt_id: str
    timestamp: int


class ExecutionError(Event):
    type: ClassVar[str] = "execution_error"
    prompt_id: str
    node_id: str
    node_type: str
    executed: list[str]
    exception_message: str
    exception_type: str
    traceback: list[str]
    current_inputs: dict[str, Any] | list[Any]
    current_outputs: list[str]
    timestamp: int | None = None

    def data(self) -> dict[str, Any]:
        data = super().data()
        if self.timestamp is None:  # ExecutionBlocked errors carry no timestamp in ComfyUI
            del data["timestamp"]
        return data

    def data_json(self) -> str:
        return json.dumps(self.data())


class ExecutionInterrupted(Event):
    type: ClassVar[str] = "execution_interrupted"
    prompt_id: str
    node_id: str
    node_type: str
    executed: list[str]
    timestamp: int


class PreviewImage(Event):
    """A live preview (a PIL image). The server encodes it into a binary frame (type 1 or 4)."""

    type: ClassVar[str] = "preview_image"
    prompt_id: str
    node_id: str
    display_node_id: str
    image: Any = Field(exclude=True)
    image_format: Literal["JPEG", "PNG"] = "JPEG"
    max_size: int | None = 512


class ProgressText(Event):
    """Free text a node shows under itself (binary frame type 3)."""

    type: ClassVar[str] = "progress_text"
    prompt_id: str
    node_id: str
    text: str


# Events recorded in a history entry's status.messages, as ComfyUI's add_message does.
STATUS_MESSAGE_TYPES = frozenset(
    {"execution_start", "execution_cached", "execution_success", "execution_error", "execution_interrupted"}
)

Subscriber = Callable[[Event, str | None], None]


class EventBus:
    """Thread-safe fan-out of events to subscribers.

    ``publish`` runs in the executor's thread and calls each subscriber in turn, so subscribers must be
    quick (the server hands the event to its event loop; the CLI updates a progress bar). ``target`` is
    the client id of the prompt that produced the event, or None (ComfyUI then broadcasts).
    A subscriber that raises is logged and kept; one bad listener must not fail a prompt.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    def publish(self, event: Event, target: str | None = None) -> None:
        for subscriber in self._subscribers:  # a tuple snapshot: safe against concurrent (un)subscribe
            try:
                subscriber(event, target)
            except Exception:
                log.exception("event subscriber %r failed on %s", subscriber, event.type)

"""What ``inkgraph run`` shows while a workflow runs: progress bars on a terminal, plain lines otherwise,
and the ``--events`` JSON stream. Driven by the executor's typed events."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from ..core.events import Event, Executing, PreviewImage, Progress, ProgressState

EventSink = Callable[[Event, "str | None"], None]


class ProgressView:
    """One bar for nodes and one for the steps of the node that reports progress, named by each node's title
    (or class). Without a terminal, plain lines: one per node started, and a step line every tenth."""

    def __init__(self, enabled: bool, labels: dict[str, str], total: int, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.labels = labels
        self.total = total
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.nodes_bar: Any = None
        self.step_bar: Any = None
        self.step_node: str | None = None
        self.done = 0
        self._last_tenth: dict[str, int] = {}
        self._lock = threading.Lock()

    def label(self, node_id: str) -> str:
        return self.labels.get(node_id) or f"node {node_id}"

    def __call__(self, event: Event, target: str | None) -> None:
        if not self.enabled:
            return
        with self._lock:
            if isinstance(event, Executing) and event.node is not None:
                self._started(event.node)
            elif isinstance(event, ProgressState):
                for state in event.nodes.values():
                    if state.get("state") == "finished":
                        self._finished()
            elif isinstance(event, Progress):
                self._step(event.node, event.value, event.max)

    def _started(self, node_id: str) -> None:
        if not self.tty:
            self.stream.write(f"[{self.done + 1}/{self.total}] {self.label(node_id)}\n")
            self.stream.flush()
            return
        from tqdm import tqdm

        if self.nodes_bar is None:
            self.nodes_bar = tqdm(total=self.total, desc="nodes", unit="node", leave=True, file=self.stream)
        self.nodes_bar.set_postfix_str(self.label(node_id))

    def _finished(self) -> None:
        self.done += 1
        if self.nodes_bar is not None:
            self.nodes_bar.update(1)
        self._close_steps()

    def _step(self, node_id: str, value: float, maximum: float) -> None:
        if not self.tty:
            tenth = int(10 * value / maximum) if maximum else 10
            if tenth > self._last_tenth.get(node_id, -1):
                self._last_tenth[node_id] = tenth
                self.stream.write(f"  {self.label(node_id)}: {value:g}/{maximum:g}\n")
                self.stream.flush()
            return
        from tqdm import tqdm

        if self.step_node != node_id:
            self._close_steps()
            self.step_bar = tqdm(total=maximum, desc=f"  {self.label(node_id)}", unit="step", leave=False,
                                 file=self.stream)
            self.step_node = node_id
        self.step_bar.total = maximum
        self.step_bar.n = value
        self.step_bar.refresh()

    def _close_steps(self) -> None:
        if self.step_bar is not None:
            self.step_bar.close()
            self.step_bar, self.step_node = None, None

    def close(self) -> None:
        with self._lock:
            self._close_steps()
            if self.nodes_bar is not None:
                self.nodes_bar.close()
                self.nodes_bar = None


def event_writer(stream: IO[str]) -> EventSink:
    """``--events``: every event but previews as one JSON line, shaped like ComfyUI's websocket messages."""
    lock = threading.Lock()

    def write(event: Event, target: str | None) -> None:
        if isinstance(event, PreviewImage):
            return
        line = json.dumps(event.message())
        with lock:
            stream.write(line + "\n")
            stream.flush()

    return write

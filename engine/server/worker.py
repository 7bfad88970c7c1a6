"""The one worker thread: takes prompts from the queue, runs them, records history.

Exactly one prompt runs at a time, as in ComfyUI. The prompt is validated again just before it runs
(after a restart, or when files changed since it was queued), so what runs is always checked.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from ..events import now_ms
from ..queue import QueueItem

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import PromptServer

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, server: PromptServer) -> None:
        self.server = server
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: QueueItem | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="inkgraph-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.server.runtime.executor.interrupt()
        self.server.queue.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        queue = self.server.queue
        while not self._stop.is_set():
            self._apply_flags()
            got = queue.get(timeout=0.5)
            if got is None:
                continue
            task_id, item = got
            try:
                self._run(task_id, item)
            except Exception:  # never let one prompt take the worker down
                log.exception("worker failed on prompt %s", item.prompt_id)
                queue.task_done(task_id, {}, error_status(item.prompt_id, "the server failed while running "
                                                           "this prompt; see its log"), {})

    def interrupt(self, prompt_id: str | None = None) -> bool:
        return self.server.runtime.executor.interrupt(prompt_id)

    def _apply_flags(self) -> None:
        flags = self.server.queue.take_flags()
        if flags.get("free_memory"):
            self.server.runtime.executor.reset()
        if flags.get("unload_models") or flags.get("free_memory"):
            for hook in self.server.unload_hooks:
                hook()

    def _run(self, task_id: int, item: QueueItem) -> None:
        server = self.server
        client_id = item.extra_data.get("client_id")
        self.current = item
        started = time.perf_counter()
        try:
            outputs, status, meta = execute_prompt(server.runtime, item.prompt, item.prompt_id,
                                                   {**item.extra_data, **item.sensitive}, client_id,
                                                   item.outputs_to_execute, server.config.preview_method)
            server.queue.task_done(task_id, outputs, status, meta)
            log.info("prompt %s: %s in %.2f s", item.prompt_id, status["status_str"], time.perf_counter() - started)
        finally:
            self.current = None
            server.prompt_finished(item)


def execute_prompt(runtime: Runtime, prompt: dict[str, Any], prompt_id: str, extra_data: dict[str, Any],
                   client_id: str | None, outputs_to_execute: list[str] | None,
                   preview_method: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Validate a queued prompt again and run it; returns its history entry's outputs, status and meta.

    The local worker and every Ray worker call this, so a prompt's history reads the same wherever it ran.
    """
    result = runtime.validate(prompt, partial_execution_targets=outputs_to_execute or None)
    if not result.ok or result.plan is None:
        body = result.error_body()
        message = f"{body['error']['message']}: {body['error']['details']}" if body["error"] else ""
        return {}, error_status(prompt_id, message), {}
    extra = dict(extra_data)
    if extra.get("preview_method", "default") == "default":
        extra["preview_method"] = preview_method
    outcome = runtime.executor.execute(result.plan, prompt_id, extra, client_id)
    status = {"status_str": outcome.status_str, "completed": outcome.completed,
              "messages": [[name, data] for name, data in outcome.messages]}
    return outcome.outputs, status, outcome.meta


def error_status(prompt_id: str, message: str, exception_type: str = "ValidationError") -> dict[str, Any]:
    """A history status for a prompt that failed outside any node."""
    return {"status_str": "error", "completed": False, "messages": [["execution_error", {
        "prompt_id": prompt_id, "node_id": "", "node_type": "", "executed": [], "exception_message": message,
        "exception_type": exception_type, "traceback": traceback.format_stack(limit=0), "current_inputs": {},
        "current_outputs": [], "timestamp": now_ms()}]]}

"""The one worker thread: takes prompts from the queue, runs them, records history.

Exactly one prompt runs at a time, as in ComfyUI. The prompt is validated again just before it runs
(after a restart, or when files changed since it was queued), so what runs is always checked.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..core.queue import QueueItem
from ..runtime.prompts import error_status, execute_prompt

if TYPE_CHECKING:
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
                                                   item.outputs_to_execute, server.runtime.settings.preview_method)
            server.queue.task_done(task_id, outputs, status, meta)
            first = status["messages"][0] if status["messages"] else ("", {})
            if first[0] == "execution_error":  # it never started: invalid by the time it came to run
                log.warning("invalid prompt: %s", first[1].get("exception_message", ""))
            log.info("Prompt executed in %.2f seconds", time.perf_counter() - started)  # ComfyUI's line
        finally:
            self.current = None
            server.prompt_finished(item)

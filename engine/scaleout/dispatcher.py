"""Runs prompts from a :class:`~engine.queue.PromptQueue` on the worker pool, several at once.

It stands where the local :class:`~engine.server.worker.Worker` stands (``start``, ``stop``, ``current``,
``interrupt``), so the server, its routes and its websocket do not know which one runs their prompts.
Queue order is kept: the next prompt is taken only when a worker is free, and goes to the best of the
free workers (:meth:`WorkerPool.acquire`). A prompt whose worker dies is put back at its place in the
queue once, preferring another worker; a second loss fails it with ``WorkerLost`` in its history.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..core.events import Event, ExecutionError, now_ms
from ..core.paths import Folders
from ..core.queue import PromptQueue, QueueItem
from .jobs import Finished, Job, OutputStore, input_files, rename_references
from .pool import WorkerFailed, WorkerHandle, WorkerLost, WorkerPool

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2  # the first run and one re-queue

Publish = Callable[[Event, str | None], None]


class Dispatcher:
    def __init__(self, queue: PromptQueue, pool: WorkerPool, folders: Folders, publish: Publish,
                 on_finished: Callable[[QueueItem], None] | None = None) -> None:
        self.queue, self.pool, self.folders, self.publish = queue, pool, folders, publish
        self.on_finished = on_finished
        self.store = OutputStore(folders)
        self.attempts: dict[str, int] = {}
        self.avoid: dict[str, frozenset[str]] = {}
        self.running: dict[str, tuple[QueueItem, WorkerHandle]] = {}
        self.placed: dict[str, str] = {}  # prompt id → the worker that ran it last
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs: set[threading.Thread] = set()

    # -- the local Worker's interface -----------------------------------------------------------------
    @property
    def current(self) -> QueueItem | None:
        with self._lock:
            return next((item for item, _ in self.running.values()), None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="inkgraph-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.pool.interrupt(None)
        self.queue.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        for thread in list(self._runs):
            thread.join(timeout)
        self.pool.shutdown()

    def interrupt(self, prompt_id: str | None = None) -> bool:
        return self.pool.interrupt(prompt_id)

    def describe(self) -> list[dict[str, Any]]:
        return self.pool.describe()

    # -- dispatching ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch_one()
            except Exception:  # the loop must outlive anything one prompt or one Ray call does
                log.exception("the dispatcher failed; continuing")

    def _dispatch_one(self) -> None:
        flags = self.queue.take_flags()
        if flags.get("unload_models") or flags.get("free_memory"):
            self.pool.free(bool(flags.get("unload_models")), bool(flags.get("free_memory")))
        if not self.pool.usable():  # every worker is out of restarts: say so rather than wait forever
            got = self.queue.get(timeout=0.5)
            if got is not None:
                self._fail(*got, "no Ray worker is left (all of them died and ran out of restarts); "
                           "restart the server", "WorkerLost")
            return
        if not self.pool.wait_idle(0.5):
            return
        got = self.queue.get(timeout=0.5)
        if got is None:
            return
        task_id, item = got
        if self._stop.is_set():  # stopping: it stays queued for the next start
            self.queue.requeue(task_id)
            return
        try:
            self._start(task_id, item)
        except Exception as exc:
            log.exception("dispatching prompt %s failed", item.prompt_id)
            self._fail(task_id, item, f"the server could not dispatch this prompt: {exc}", type(exc).__name__)

    def _start(self, task_id: int, item: QueueItem) -> None:
        """Send one prompt to the best idle worker, on a thread of its own."""
        try:
            inputs = input_files(item.prompt, self.folders)
        except (ValueError, OSError) as exc:
            self._fail(task_id, item, str(exc), "InputError")
            return
        job = Job(item.prompt_id, item.prompt, {**item.extra_data, **item.sensitive},
                  item.extra_data.get("client_id"), item.outputs_to_execute, inputs)
        handle = self.pool.acquire(job, self.avoid.get(item.prompt_id, frozenset()))
        if handle is None:  # the idle worker was lost in between: back to its place
            self.queue.requeue(task_id)
            return
        with self._lock:
            self.running[item.prompt_id] = (item, handle)
            self.placed[item.prompt_id] = handle.name
        thread = threading.Thread(target=self._run, args=(task_id, item, job, handle),
                                  name=f"inkgraph-run-{handle.name}", daemon=True)
        self._runs.add(thread)
        thread.start()

    def _run(self, task_id: int, item: QueueItem, job: Job, handle: WorkerHandle) -> None:
        renamed: dict[Any, Any] = {}

        def relay(batch: list[Any]) -> None:
            for event, target, files in batch:
                if files:
                    renamed.update(self.store.store(files))
                if renamed and event.type == "executed":
                    event = event.model_copy(update={"output": rename_references(event.output, renamed)})
                self.publish(event, target)

        ok = False
        try:
            finished: Finished = self.pool.run(handle, job, relay)
            ok = finished.status.get("status_str") == "success"
            self.queue.task_done(task_id, rename_references(finished.outputs, renamed),
                                 rename_references(finished.status, renamed), finished.meta)
            self._finished(item)
        except WorkerLost as exc:
            self._on_lost(task_id, item, handle, str(exc))
        except WorkerFailed as exc:
            self._fail(task_id, item, str(exc), "WorkerError")
        except Exception as exc:  # e.g. the results could not be stored here: stop the prompt on its worker
            log.exception("running prompt %s failed", item.prompt_id)
            self.pool.interrupt_prompt(handle, item.prompt_id)
            self._fail(task_id, item, f"the server failed while running this prompt: {exc}", type(exc).__name__)
        finally:
            with self._lock:
                if self.running.get(item.prompt_id, (None, None))[1] is handle:
                    del self.running[item.prompt_id]
            self.pool.release(handle, job, ok)
            self._runs.discard(threading.current_thread())

    def _on_lost(self, task_id: int, item: QueueItem, handle: WorkerHandle, message: str) -> None:
        attempts = self.attempts[item.prompt_id] = self.attempts.get(item.prompt_id, 0) + 1
        if self._stop.is_set():  # shutting down killed it: it stays queued for the next start
            self.queue.requeue(task_id)
            return
        if attempts < MAX_ATTEMPTS:
            log.warning("%s; re-queued prompt %s", message, item.prompt_id)
            self.avoid[item.prompt_id] = self.avoid.get(item.prompt_id, frozenset()) | {handle.name}
            self.queue.requeue(task_id)
            return
        self._fail(task_id, item, f"{message} (after {attempts} attempts)", "WorkerLost")

    def _fail(self, task_id: int, item: QueueItem, message: str, kind: str) -> None:
        """Record the prompt as failed and tell its client, as an execution error would."""
        event = ExecutionError(prompt_id=item.prompt_id, node_id="", node_type="", executed=[],
                               exception_message=message, exception_type=kind, traceback=[], current_inputs={},
                               current_outputs=[], timestamp=now_ms())
        self.publish(event, item.extra_data.get("client_id"))
        status = {"status_str": "error", "completed": False, "messages": [[event.type, event.data()]]}
        self.queue.task_done(task_id, {}, status, {})
        self._finished(item)

    def _finished(self, item: QueueItem) -> None:
        self.attempts.pop(item.prompt_id, None)
        self.avoid.pop(item.prompt_id, None)
        if self.on_finished is not None:
            self.on_finished(item)

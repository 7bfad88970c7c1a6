"""Many prompts at once over the Ray workers (``inkgraph run --ray --sweep``).

The runs go through the same :class:`~.dispatcher.Dispatcher` the server uses, fed from a throw-away
:class:`~inkgraph.engine.core.queue.PromptQueue`, so placement, file shipping and the re-queue of a lost
worker's prompt behave exactly as behind ``inkgraph serve --ray``. Parsing the sweep and printing its
table belong to the command line.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.paths import Folders
from ..core.queue import PromptQueue, QueueItem
from .actor import WorkerSettings
from .dispatcher import Dispatcher
from .pool import RayOptions, WorkerPool


@dataclass
class FanOutResult:
    ids: list[str]  # one prompt id per prompt, in order
    history: dict[str, Any]  # prompt id → its history entry
    placed: dict[str, str]  # prompt id → the worker that ran it
    workers: int
    seconds: float


def fan_out(prompts: list[dict[str, Any]], extra_data: dict[str, Any], options: RayOptions,
            settings: WorkerSettings, folders: Folders, finished: Callable[[], None] = lambda: None) -> FanOutResult:
    """Run every prompt on the workers, several at once; ``finished`` is called as each one ends.

    Ctrl+C interrupts what runs and re-raises. A missing Ray or a cluster too small raises RuntimeError.
    """
    with tempfile.TemporaryDirectory(prefix="inkgraph-sweep-") as scratch:
        queue = PromptQueue(Path(scratch) / "sweep.db")
        ids = [str(uuid.uuid4()) for _ in prompts]
        for number, (prompt_id, prompt) in enumerate(zip(ids, prompts, strict=True)):
            queue.put(QueueItem(number, prompt_id, prompt, dict(extra_data), []))
        done = threading.Semaphore(0)

        def on_finished(item: QueueItem) -> None:
            finished()
            done.release()

        pool = WorkerPool(options, settings)
        dispatcher = Dispatcher(queue, pool, folders, lambda event, target: None, on_finished)
        started = time.perf_counter()
        dispatcher.start()
        try:
            for _ in prompts:
                done.acquire()
        except KeyboardInterrupt:
            dispatcher.interrupt(None)
            raise
        finally:
            seconds = time.perf_counter() - started
            dispatcher.stop()
        history = queue.history()
        queue.close()
    return FanOutResult(ids, history, dict(dispatcher.placed), len(pool.workers), seconds)

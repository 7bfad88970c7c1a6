"""The worker: an ordinary engine (:class:`~engine.runtime.Runtime`: registry, model manager, executor,
result cache) inside a Ray actor that holds one device.

``run`` is a streaming generator: it yields the executor's events in batches as they happen, each
``executed`` event carrying the bytes of the files it names, and finally the history entry. The class is
plain Python; :mod:`.pool` wraps it with ``ray.remote`` so importing this module never imports Ray.

Each worker has a private base folder (input/, output/, temp/ under the system's temp directory); its
``models`` and ``custom_nodes`` are links to the folders named in :class:`WorkerSettings` when they exist
on the worker's machine, so a single machine or a shared model volume needs no copying.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.settings import Settings
from ..runtime.prompts import error_status, execute_prompt
from .jobs import FileKey, Finished, Job, output_files

log = logging.getLogger(__name__)
BATCH_WAIT_S = 0.02  # gather events this long before yielding a batch (one Ray object per batch)


@dataclass(frozen=True)
class WorkerSettings:
    """A worker's engine: the server's :class:`Settings` (its ``base_dir`` is replaced by the worker's private
    folder) plus what differs on the worker's machine."""

    engine: Settings = field(default_factory=Settings)
    models_dir: str | None = None  # models folder on the worker's machine (``--ray-models``)
    custom_nodes_dir: str | None = None
    threads: int | None = None  # torch CPU threads (Ray sets 1 for actors that hold at most one CPU)


def _remove_stale_bases(prefix: str) -> None:
    """Private folders of earlier actors whose process is gone (a restart after a crash leaves one)."""
    import shutil

    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


class InkgraphWorker:
    def __init__(self, name: str, settings: WorkerSettings) -> None:
        from ..runtime import Runtime

        self.name, self.settings = name, settings
        prefix = f"inkgraph-{name}-"
        if Path("/proc").is_dir():
            _remove_stale_bases(prefix)
        self.base = Path(tempfile.gettempdir()) / f"{prefix}{os.getpid()}"
        self.base.mkdir(exist_ok=True)
        for link, target in (("models", settings.models_dir), ("custom_nodes", settings.custom_nodes_dir)):
            if target and Path(target).is_dir() and not (self.base / link).exists():
                os.symlink(Path(target).resolve(), self.base / link, target_is_directory=True)
        self.runtime = Runtime.create(settings.engine.replace(base_dir=self.base))
        if settings.threads:
            import torch

            torch.set_num_threads(settings.threads)
        # Resolve the device now (imports torch): the first prompt starts sooner, and /workers can name the
        # device without waiting for an import.
        self.device = self.runtime.models.policy.device
        # The same for what info() needs: imported while a prompt runs, under load, it made the first
        # health check miss its timeout.
        from ..runtime import stats  # noqa: F401

        self.running: str | None = None
        self.completed = 0
        self.started = time.time()
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()  # interrupted before their run began

    # -- calls from the pool --------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Device, loaded models and counters, for /workers and /system_stats."""
        import socket

        from ..runtime.stats import system_stats

        stats = system_stats()
        return {"name": self.name, "pid": os.getpid(), "host": socket.gethostname(),
                "device": self.device, "devices": stats["devices"],
                "loaded_models": self.runtime.models.loaded(), "running": self.running,
                "completed": self.completed, "uptime_s": round(time.time() - self.started, 1),
                "ram_free": stats["system"]["ram_free"]}

    def ping(self) -> str:
        return self.name

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Stop the running prompt; a prompt sent here that has not begun yet (its inputs still being
        written, or waiting for the lock) is stopped as soon as it begins."""
        if self.runtime.executor.interrupt(prompt_id):
            return True
        if prompt_id is not None:
            self._cancelled.add(prompt_id)
            return True
        return False

    def free(self, unload_models: bool, free_memory: bool) -> None:
        """``POST /free``, applied between prompts as the local worker does (it waits for a running one)."""
        with self._lock:
            if free_memory:
                self.runtime.executor.reset()
            if unload_models or free_memory:
                self.runtime.models.unload_all()

    def run(self, job: Job) -> Any:
        """Yields ``("events", [(event, target, files), ...])`` batches, then ``("finished", Finished)``."""
        with self._lock:  # one prompt at a time per device, as ComfyUI runs one per GPU
            self.running = job.prompt_id
            try:
                yield from self._run(job)
            finally:
                self.running = None
                self.completed += 1

    # -- the run --------------------------------------------------------------------------------------
    def _run(self, job: Job) -> Any:
        from ..core.paths import safe_join

        for (kind, name), data in job.inputs.items():
            path = safe_join(self.runtime.folders.temp if kind == "temp" else self.runtime.folders.output
                             if kind == "output" else self.runtime.folders.input, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
        events: queue.Queue[Any] = queue.Queue()
        done = object()
        box: dict[str, Finished] = {}

        def on_event(event: Any, target: str | None) -> None:
            files = self._files(getattr(event, "output", None)) if event.type == "executed" else {}
            events.put((event, target, files))

        unsubscribe = self.runtime.bus.subscribe(on_event)

        def execute() -> None:
            try:
                box["finished"] = self._execute(job)
            except Exception:  # the actor must answer, whatever happened
                log.exception("worker %s failed on prompt %s", self.name, job.prompt_id)
                box["finished"] = Finished({}, error_status(job.prompt_id, f"worker {self.name} failed: "
                                                             f"{traceback.format_exc(limit=3)}", "WorkerError"), {})
            finally:
                events.put(done)

        thread = threading.Thread(target=execute, name=f"{self.name}-execute", daemon=True)
        thread.start()
        try:
            finished = False
            while not finished:
                batch = [events.get()]
                deadline = time.monotonic() + BATCH_WAIT_S
                while batch[-1] is not done and time.monotonic() < deadline:
                    try:
                        batch.append(events.get(timeout=max(0.0, deadline - time.monotonic())))
                    except queue.Empty:
                        break
                finished = batch[-1] is done
                items = [item for item in batch if item is not done]
                if items:
                    yield ("events", items)
        finally:
            unsubscribe()
            thread.join()
        yield ("finished", box["finished"])

    def _execute(self, job: Job) -> Finished:
        if job.prompt_id in self._cancelled:
            from ..core.events import ExecutionInterrupted, now_ms

            self._cancelled.discard(job.prompt_id)
            event = ExecutionInterrupted(prompt_id=job.prompt_id, node_id="", node_type="", executed=[],
                                         timestamp=now_ms())
            self.runtime.bus.publish(event, job.client_id)
            return Finished({}, {"status_str": "error", "completed": False,
                                 "messages": [[event.type, event.data()]]}, {})
        return Finished(*execute_prompt(self.runtime, job.prompt, job.prompt_id, job.extra_data, job.client_id,
                                        job.outputs_to_execute, self.settings.engine.preview_method))

    def _files(self, output: dict[str, Any] | None) -> dict[FileKey, bytes]:
        from ..core.paths import PathEscapeError, safe_join

        files = {}
        for kind, subfolder, filename in output_files(output):
            root = self.runtime.folders.output if kind == "output" else self.runtime.folders.temp
            try:
                path = safe_join(root, subfolder, filename)
            except PathEscapeError:
                continue
            if path.is_file():
                files[(kind, subfolder, filename)] = path.read_bytes()
        return files


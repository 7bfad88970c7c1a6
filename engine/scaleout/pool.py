"""The worker actors: starting them on Ray, their health, and which one a prompt should go to.

Placement: among the idle, healthy workers, the one that already has the prompt's model files loaded
(the files named by the prompts it ran; cleared by /free and when the actor restarts), then the one whose
result cache holds most of the prompt's nodes (a re-run with a changed tail), then the one idle longest.

A worker that dies (its process crashed, its node was lost, the OOM killer) surfaces as a Ray error from
the stream of events; the pool marks it ``restarting`` (Ray restarts the actor, up to ``max_restarts``)
and a monitor thread marks it idle again once it answers a ping.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.paths import Folders
from ..core.settings import Settings
from .actor import InkgraphWorker, WorkerSettings
from .jobs import Finished, Job, model_files, node_keys

log = logging.getLogger(__name__)
KEY_MEMORY = 4096  # node keys remembered per worker for cache affinity
PING_TIMEOUT_S = 5.0


def _cluster_resources() -> dict[str, float]:
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return resources


class WorkerLost(RuntimeError):
    """The worker running a prompt went away (crash, node lost, out of memory)."""


class WorkerFailed(RuntimeError):
    """The worker is alive but could not run the prompt or send its results (a bug, a full disk): the
    prompt fails, and running it elsewhere would fail the same way."""


@dataclass
class RayOptions:
    """``--ray [ADDRESS]`` and friends. ``address`` "local" starts a Ray on this machine; "auto" joins the
    running cluster; ``ray://host:10001`` connects as a client."""

    address: str = "local"
    workers: int | None = None  # default: one per unit of the worker resource in the cluster
    resource: str | None = None  # a custom resource name each worker takes one of; default GPU, else CPU
    num_cpus: int | None = None  # for a local Ray only
    max_restarts: int = 3
    models_dir: str | None = None  # models folder on the worker machines (``--ray-models``)


@dataclass
class WorkerHandle:
    name: str
    actor: Any
    state: str = "starting"  # starting, idle, busy, restarting, dead
    prompt_id: str | None = None
    models: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    completed: int = 0
    lost: int = 0
    idle_since: float = field(default_factory=time.monotonic)
    resources: dict[str, float] = field(default_factory=dict)


def worker_settings(options: RayOptions, settings: Settings, folders: Folders) -> WorkerSettings:
    """What each worker runs with: this engine's settings, and its models and node packs, which the workers
    see when their machine has the same folders (``--ray-models`` names another models folder)."""
    return WorkerSettings(engine=settings, models_dir=options.models_dir or str(folders.models),
                          custom_nodes_dir=str(folders.base / "custom_nodes"))


class WorkerPool:
    def __init__(self, options: RayOptions, settings: WorkerSettings) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("--ray needs Ray: pip install 'inkgraph[ray]'") from exc

        self.options = options
        self._started_ray = False
        if not ray.is_initialized():
            if options.address in ("", "local"):
                # a local Ray has as much of a custom worker resource as workers were asked for
                extra = {options.resource: float(options.workers or 1)} if options.resource else None
                ray.init(num_cpus=options.num_cpus, resources=extra, include_dashboard=False, log_to_driver=True,
                         configure_logging=False)
                self._started_ray = True
            else:
                ray.init(address=options.address, include_dashboard=False, log_to_driver=True,
                         configure_logging=False)
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self.hits = self.placements = 0
        resources = self._worker_resources()
        count = options.workers or self._default_count(resources)
        self._check_capacity(resources, count)
        decorate: Any = ray.remote  # its overloads cannot type options built at run time
        remote = decorate(**resources, max_restarts=options.max_restarts, max_task_retries=0,
                            max_concurrency=8)(InkgraphWorker)
        self.workers = [WorkerHandle(name, remote.remote(name, settings),
                                     resources=resources)
                        for name in (f"worker-{index}" for index in range(count))]
        ready = ray.get([handle.actor.ping.remote() for handle in self.workers], timeout=600)
        for handle in self.workers:
            handle.state = "idle"
        log.info("Ray workers ready: %s (%s each)", ", ".join(ready), resources)
        self._monitor = threading.Thread(target=self._watch, name="inkgraph-ray-monitor", daemon=True)
        self._monitor.start()

    def _worker_resources(self) -> dict[str, Any]:

        if self.options.resource:
            return {"resources": {self.options.resource: 1}, "num_cpus": 0}
        if _cluster_resources().get("GPU", 0) >= 1:
            return {"num_gpus": 1, "num_cpus": 0}
        return {"num_cpus": 1}

    def _default_count(self, resources: dict[str, Any]) -> int:

        total = _cluster_resources()
        if "resources" in resources:
            (name,) = resources["resources"]
            return max(1, int(total.get(name, 1)))
        if "num_gpus" in resources:
            return max(1, int(total.get("GPU", 1)))
        return 1  # CPU-only: one worker unless told (set WorkerSettings.threads to give it more cores)

    def _check_capacity(self, resources: dict[str, Any], count: int) -> None:
        """Refuse at start-up what could never be scheduled (Ray would wait for it forever)."""
        total = _cluster_resources()
        name, each = next(iter(resources["resources"].items())) if "resources" in resources else \
            ("GPU", resources["num_gpus"]) if "num_gpus" in resources else ("CPU", resources["num_cpus"])
        if total.get(name, 0) < count * each:
            raise RuntimeError(f"{count} Ray workers need {count * each:g} {name} but the cluster has "
                               f"{total.get(name, 0):g}; pass fewer --ray-workers or add machines")

    # -- placement ------------------------------------------------------------------------------------
    def wait_idle(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: any(w.state == "idle" for w in self.workers), timeout)

    def interrupt_prompt(self, handle: WorkerHandle, prompt_id: str) -> None:
        """Stop one prompt on one worker (its results could not be taken in)."""
        handle.actor.interrupt.remote(prompt_id)

    def acquire(self, job: Job, avoid: frozenset[str] = frozenset()) -> WorkerHandle | None:
        """The best idle worker for ``job``, marked busy; None if none is idle."""
        models, keys = model_files(job.prompt), node_keys(job.prompt)
        with self._lock:
            idle = [w for w in self.workers if w.state == "idle"]
            if not idle:
                return None
            best = max(idle, key=lambda w: (w.name not in avoid, len(models & w.models), len(keys & w.keys),
                                            -w.idle_since))
            best.state, best.prompt_id = "busy", job.prompt_id
            if models:
                self.placements += 1
                self.hits += models <= best.models
            return best

    def usable(self) -> bool:
        """Whether any worker can still run prompts (all dead: nothing ever will)."""
        with self._lock:
            return any(w.state != "dead" for w in self.workers)

    def release(self, handle: WorkerHandle, job: Job, ok: bool) -> None:
        with self._lock:
            if handle.prompt_id != job.prompt_id:  # lost meanwhile (and maybe restarted and busy again)
                self._lock.notify_all()
                return
            handle.state, handle.prompt_id = "idle", None
            handle.idle_since = time.monotonic()
            if ok:
                handle.completed += 1
                handle.models |= model_files(job.prompt)
                handle.keys |= node_keys(job.prompt)
                if len(handle.keys) > KEY_MEMORY:
                    handle.keys = set(itertools.islice(handle.keys, KEY_MEMORY // 2))
            self._lock.notify_all()

    # -- running ----------------------------------------------------------------------------------------
    def run(self, handle: WorkerHandle, job: Job, on_events: Callable[[list[Any]], None]) -> Finished:
        """Run ``job`` on ``handle``, passing event batches to ``on_events`` as they arrive."""
        import ray

        try:
            stream = handle.actor.run.options(num_returns="streaming").remote(job)
            for ref in stream:
                kind, payload = ray.get(ref)
                if kind == "events":
                    on_events(payload)
                else:
                    finished: Finished = payload
                    return finished
        except ray.exceptions.RayTaskError as exc:  # raised inside the live actor: not a lost worker
            raise WorkerFailed(f"worker {handle.name} failed: {str(exc).splitlines()[-1] if str(exc) else exc!r}") \
                from exc
        except ray.exceptions.RayError as exc:
            if isinstance(exc, ray.exceptions.ActorUnavailableError):
                # unreachable but perhaps still running the prompt: restart it before the prompt runs elsewhere
                ray.kill(handle.actor, no_restart=False)
            self._lost(handle, exc)
            raise WorkerLost(f"worker {handle.name} was lost while running the prompt: "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        self._lost(handle, None)
        raise WorkerLost(f"worker {handle.name} ended the prompt's stream without a result")

    def _lost(self, handle: WorkerHandle, exc: BaseException | None) -> None:
        log.warning("worker %s lost: %s", handle.name, exc)
        with self._lock:
            self._lock.notify_all()
            handle.state, handle.prompt_id = "restarting", None
            handle.models.clear()
            handle.keys.clear()
            handle.lost += 1

    def _watch(self) -> None:
        """Bring restarted actors back into service (Ray restarts them; we wait for a ping)."""
        import ray

        while not self._stop.wait(0.5):
            with self._lock:
                waiting = [w for w in self.workers if w.state == "restarting"]
            for handle in waiting:
                try:
                    ray.get(handle.actor.ping.remote(), timeout=PING_TIMEOUT_S)
                except ray.exceptions.ActorDiedError:
                    with self._lock:
                        handle.state = "dead"  # out of restarts
                        self._lock.notify_all()
                except ray.exceptions.RayError:
                    continue
                else:
                    with self._lock:
                        handle.state, handle.idle_since = "idle", time.monotonic()
                        self._lock.notify_all()

    # -- control ----------------------------------------------------------------------------------------
    def interrupt(self, prompt_id: str | None) -> bool:
        with self._lock:
            targets = [w for w in self.workers if w.state == "busy"
                       and (prompt_id is None or w.prompt_id == prompt_id)]
        for handle in targets:
            handle.actor.interrupt.remote(prompt_id)
        return bool(targets)

    def free(self, unload_models: bool, free_memory: bool) -> None:
        with self._lock:
            for handle in self.workers:
                handle.models.clear()
                if free_memory:
                    handle.keys.clear()
                if handle.state in ("idle", "busy"):
                    handle.actor.free.remote(unload_models, free_memory)

    def describe(self) -> list[dict[str, Any]]:
        """Each worker: state, running prompt, device, loaded models, counters (for /workers)."""
        import ray

        with self._lock:
            handles = list(self.workers)
        calls = {h.name: h.actor.info.remote() for h in handles if h.state in ("idle", "busy")}
        described = []
        for handle in handles:
            entry: dict[str, Any] = {"name": handle.name, "state": handle.state, "prompt_id": handle.prompt_id,
                                     "model_files": sorted(handle.models), "completed": handle.completed,
                                     "lost": handle.lost, "resources": handle.resources}
            if handle.name in calls:
                try:
                    info = ray.get(calls[handle.name], timeout=PING_TIMEOUT_S)
                except ray.exceptions.RayError as exc:
                    entry["health"] = f"not answering: {type(exc).__name__}"
                else:
                    entry.update(health="ok", device=info["device"], devices=info["devices"], host=info["host"],
                                 pid=info["pid"], loaded_models=info["loaded_models"], uptime_s=info["uptime_s"])
            else:
                entry["health"] = handle.state
            described.append(entry)
        return described

    def shutdown(self) -> None:
        import ray

        self._stop.set()
        for handle in self.workers:
            try:
                ray.kill(handle.actor, no_restart=True)
            except Exception:  # already gone
                log.debug("killing %s failed", handle.name, exc_info=True)
        if self._started_ray:
            ray.shutdown()

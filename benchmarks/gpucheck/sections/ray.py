"""Ray scale-out with a GPU resource: a worker actor (the same pool ``inkgraph serve --ray`` uses) takes the
machine's GPU, computes on it, and runs a prompt whose events stream back. Skipped where Ray is not
installed (``pip install 'inkgraph[ray]'``). Ray runs on this machine only, its dashboard and usage
reporting off."""

from __future__ import annotations

from typing import Any

from .. import fixtures as fx
from ..context import SectionContext


def run(ctx: SectionContext) -> None:
    try:
        import ray
    except ImportError:
        ctx.skip("ray is not installed (pip install 'inkgraph[ray]'): scale-out not checked on this machine")
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.scaleout.actor import WorkerSettings
    from inkgraph.engine.scaleout.jobs import Job
    from inkgraph.engine.scaleout.pool import RayOptions, WorkerPool

    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    temp = ctx.work / "ray"
    temp.mkdir(parents=True, exist_ok=True)
    ray.init(num_cpus=2, num_gpus=1 if ctx.cuda else 0, include_dashboard=False, configure_logging=False,
             log_to_driver=False, _temp_dir=str(temp))
    pool: Any = None
    try:
        resources = ray.cluster_resources()
        ctx.metric("Ray cluster resources", ", ".join(
            f"{k} {v / 2**30:.1f} GiB" if "memory" in k else f"{k} {v:g}" for k, v in sorted(resources.items())
            if not k.startswith("node:")))
        if ctx.cuda:
            ctx.check("Ray sees the GPU", resources.get("GPU", 0) >= 1, resources.get("GPU", 0))
        settings = WorkerSettings(engine=Settings(device=ctx.device, dtype="fp16" if ctx.cuda else "fp32",
                                                  cache="none", custom_nodes=False),
                                  models_dir=str(fx.base_dir(ctx) / "models"))
        pool = WorkerPool(RayOptions(address="local", workers=1), settings)
        handle = pool.workers[0]
        if ctx.cuda:
            ctx.check("the worker actor holds one GPU", handle.resources.get("num_gpus") == 1, str(handle.resources))
        (described,) = pool.describe()
        device = str(described.get("device"))
        ctx.check("the worker computes on the expected device", device.split(":")[0] == ctx.device.split(":")[0],
                  device, ctx.device)
        prompt = fx.txt2img(ckpt, 64, 3, capture=False)
        job = Job("gpu-check-ray", prompt, {}, None, ["9"])
        acquired = pool.acquire(job)
        ctx.check("a worker was free for the prompt", acquired is not None)
        if acquired is None:
            return
        events: list[Any] = []
        finished = pool.run(acquired, job, events.extend)
        ok = finished.status.get("status_str") == "success"
        pool.release(acquired, job, ok)
        ctx.check("the prompt ran on the worker", ok, str(finished.status.get("status_str")))
        kinds = {getattr(event, "type", "") for event, _, _ in events}
        ctx.check("its events streamed back (progress, executed)", {"progress", "executed"} <= kinds,
                  ", ".join(sorted(kinds)))
    finally:
        if pool is not None:
            pool.shutdown()
        ray.shutdown()

"""Scale-out on Ray: throughput with 1 and 2 workers, dispatch overhead per prompt, affinity hit rate.

Everything runs through the same dispatcher ``inkgraph serve --ray`` uses (a PromptQueue feeding a
WorkerPool of actors on a local Ray; workers take one unit of a custom resource each and run torch with
one thread), on two tiny SD1.x checkpoints built in code (tests/fixtures/tiny_sd.py):

- throughput: 20 prompts (128×128, 20 euler steps, different seeds, one checkpoint) with 1 and 2 workers,
  after one warm-up prompt per worker; prompts per second and the speed-up;
- dispatch overhead: 20 trivial prompts (an 8×8 EmptyImage into PreviewImage) one after another on one
  worker, against the same prompts run by a local engine in this process: the difference per prompt is
  what queueing, the actor call, the event stream and shipping the output back cost;
- affinity: 20 prompts queued at once, each naming one of the two checkpoints at random, on 2 workers
  (both already hold tiny_a from the throughput run); the share of placements where the chosen worker
  already had the prompt's checkpoint.

Run: ``python benchmarks/scale_out.py [--prompts 20]`` (needs ``pip install 'inkgraph[ray]'``). On a 2-core
machine, expect close to 2× with 2 workers when nothing else is running.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inkgraph.engine.core.paths import Folders  # noqa: E402
from inkgraph.engine.core.queue import PromptQueue, QueueItem  # noqa: E402
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.scaleout.actor import WorkerSettings  # noqa: E402
from inkgraph.engine.scaleout.dispatcher import Dispatcher  # noqa: E402
from inkgraph.engine.scaleout.pool import RayOptions, WorkerPool  # noqa: E402

RESOURCE = "inkgraph_bench_worker"


def txt2img(checkpoint: str, seed: int) -> dict[str, Any]:
    return {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 128, "height": 128, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "bench"}},
    }


def trivial(seed: int) -> dict[str, Any]:
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": seed}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}


class Bench:
    """A pool of ``workers`` actors and a dispatcher over a scratch queue."""

    def __init__(self, base: Path, workers: int) -> None:
        import ray

        ray.init(num_cpus=2, resources={RESOURCE: workers}, include_dashboard=False, configure_logging=False,
                 log_to_driver=False, runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
        self.folders = Folders.at(base).ensure()
        self.queue = PromptQueue(base / "user" / f"bench-{workers}.db")
        settings = WorkerSettings(engine=Settings(device="cpu", dtype="fp32"), models_dir=str(self.folders.models))
        self.pool = WorkerPool(RayOptions(workers=workers, resource=RESOURCE), settings)
        self.done = threading.Semaphore(0)
        self.dispatcher = Dispatcher(self.queue, self.pool, self.folders, lambda event, target: None,
                                     lambda item: self.done.release())
        self.dispatcher.start()
        self.number = 0

    def run(self, prompts: list[dict[str, Any]]) -> float:
        """Queue them all, wait for all; seconds taken."""
        started = time.perf_counter()
        for prompt in prompts:
            self.queue.put(QueueItem(self.number, str(uuid.uuid4()), prompt, {}, []))
            self.number += 1
        for _ in prompts:
            self.done.acquire()
        elapsed = time.perf_counter() - started
        failed = [e for e in self.queue.history().values() if e["status"]["status_str"] != "success"]
        if failed:
            raise RuntimeError(f"{len(failed)} prompts failed: {failed[0]['status']['messages'][-1]}")
        return elapsed

    def close(self) -> None:
        import ray

        self.dispatcher.stop()
        self.queue.close()
        ray.shutdown()


def local_seconds(base: Path, prompts: list[dict[str, Any]]) -> float:
    from inkgraph.engine.runtime import Runtime

    runtime = Runtime.create(Settings(base_dir=base))
    runtime.run(trivial(16_000_001))
    started = time.perf_counter()
    for prompt in prompts:
        result, outcome = runtime.run(prompt)
        assert outcome is not None and outcome.status_str == "success"
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=20)
    args = parser.parse_args()
    import torch

    from tests.fixtures.tiny_sd import save_single_file

    torch.set_num_threads(1)
    n = args.prompts
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        checkpoints = base / "models" / "checkpoints"
        checkpoints.mkdir(parents=True)
        save_single_file("sd1", checkpoints / "tiny_a.safetensors", seed=0)
        save_single_file("sd1", checkpoints / "tiny_b.safetensors", seed=1)

        rates = {}
        for workers in (1, 2):
            bench = Bench(base, workers)
            try:
                bench.run([txt2img("tiny_a.safetensors", 10_000 + i) for i in range(workers)])  # warm every worker
                seconds = bench.run([txt2img("tiny_a.safetensors", i) for i in range(n)])
                rates[workers] = n / seconds
                print(f"throughput, {workers} worker{'s' if workers > 1 else ''}: {n} prompts in {seconds:.2f} s "
                      f"= {rates[workers]:.2f} prompts/s", flush=True)
                if workers == 1:
                    trivial_prompts = [trivial(i) for i in range(n)]
                    bench.run([trivial(16_000_000)])
                    started = time.perf_counter()
                    for prompt in trivial_prompts:  # one at a time: latency, not throughput
                        bench.run([prompt])
                    ray_s = (time.perf_counter() - started) / n
                    local_s = local_seconds(base / "local", trivial_prompts) / n
                    print(f"dispatch overhead: {ray_s * 1000:.1f} ms per trivial prompt on Ray vs "
                          f"{local_s * 1000:.1f} ms in process = {(ray_s - local_s) * 1000:.1f} ms per prompt",
                          flush=True)
                else:
                    rng = random.Random(0)
                    mixed = [txt2img(rng.choice(["tiny_a.safetensors", "tiny_b.safetensors"]), 20_000 + i)
                             for i in range(n)]
                    bench.pool.hits = bench.pool.placements = 0
                    bench.run(mixed)  # queued at once: a worker that frees up takes the next prompt
                    loads = sum(len(w.models) for w in bench.pool.workers)
                    print(f"affinity: {bench.pool.hits}/{bench.pool.placements} placements "
                          f"({bench.pool.hits / max(1, bench.pool.placements):.0%}) found the checkpoint loaded; "
                          f"checkpoints held across the 2 workers: {loads}", flush=True)
            finally:
                bench.close()
        print(f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}×")


if __name__ == "__main__":
    main()

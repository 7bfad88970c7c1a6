"""Engine overhead, in-process: how much time the engine itself adds per node.

Graphs (N = 10, 100, 1,000, 10,000):
- chain: a source, N nodes one after another, an output;
- fan:   one source, N parallel nodes, blended back pairwise into one output;
- fanx:  N distinct branches (source → node → output each).
Node kinds: ``noop`` (a pass-through stub, so the time is all engine) and ``invert`` (ImageInvert on a
64×64 image). For each: cold ms per node (validate + execute, empty cache), a fully cached re-run, a
changed tail (only the output re-runs) and a changed head (everything re-runs).

By default the event bus has one subscriber that turns every event into its websocket message, as the
server does; ``--no-subscriber`` measures the engine alone. Figures are medians of ``--repeat`` runs.

Run: ``python benchmarks/engine_overhead.py [--sizes 10 100 1000 10000] [--kinds noop invert]``
Targets on the 2-core development machine: ≤ 30 µs per no-op node cold; cached 1,000-node chain re-run
≤ 20 ms; the 10,000 chain ≤ 12× the 1,000 chain.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkgraph.engine import Image, node  # noqa: E402
from inkgraph.engine.core.graph_builder import GraphBuilder  # noqa: E402
from inkgraph.engine.core.registry import NodeRegistry  # noqa: E402
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime  # noqa: E402
from inkgraph.engine.runtime.packs import default_registry


@node(category="bench")
def BenchSource(seed: int = 0) -> Image:
    """A 64×64 image (or, for noop graphs, any value)."""
    import torch

    return torch.full((1, 64, 64, 3), (seed % 100) / 100.0)


@node(category="bench")
def BenchNoop(image: Image, tag: int = 0) -> Image:
    return image


@node(category="bench")
def BenchBlend(a: Image, b: Image) -> Image:
    return a


@node(category="bench", output_node=True)
def BenchOutput(image: Image, tag: int = 0) -> None:
    return None


def registry() -> NodeRegistry:
    reg = default_registry(entry_points=False)
    reg.load_pack("bench", "benchmarks", lambda: [BenchSource, BenchNoop, BenchBlend, BenchOutput])
    return reg


def build(shape: str, n: int, kind: str, head: int = 0, tail: int = 0) -> dict[str, Any]:
    op = "BenchNoop" if kind == "noop" else "ImageInvert"
    g = GraphBuilder()

    def step(value: list[Any], tag: int = 0) -> Any:
        # ImageInvert has no tag; parallel no-op branches get distinct tags so none share a cache key
        return g.node(op, image=value, **({"tag": tag} if op == "BenchNoop" else {}))

    if shape == "chain":
        prev = g.node("BenchSource", seed=head)
        for _ in range(n):
            prev = step(prev.out())
        g.node("BenchOutput", image=prev.out(), tag=tail)
    elif shape == "fan":
        src = g.node("BenchSource", seed=head)
        layer = [step(src.out(), tag=i) for i in range(n)]
        while len(layer) > 1:
            layer = [g.node("BenchBlend", a=layer[i].out(), b=layer[i + 1].out()) if i + 1 < len(layer)
                     else layer[i] for i in range(0, len(layer), 2)]
        g.node("BenchOutput", image=layer[0].out(), tag=tail)
    elif shape == "fanx":
        for i in range(n):
            src = g.node("BenchSource", seed=head * 100003 + i)
            out = step(src.out())
            g.node("BenchOutput", image=out.out(), tag=tail)
    else:
        raise ValueError(shape)
    return g.finalize()


def timed(runtime: Runtime, prompt: dict[str, Any]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    result, outcome = runtime.run(prompt)
    elapsed = time.perf_counter() - start
    assert result.ok and outcome is not None and outcome.status_str == "success", result.error_body()
    return elapsed, len(result.plan.nodes) if result.plan else 0


def measure(shape: str, n: int, kind: str, repeat: int, subscriber: bool) -> dict[str, float]:
    cold, cached, tail, head = [], [], [], []
    nodes = 0
    for r in range(repeat):
        with tempfile.TemporaryDirectory() as base:
            runtime = Runtime.create(Settings(base_dir=base), registry=REGISTRY)
            if subscriber:
                runtime.bus.subscribe(lambda event, target: event.message_json())
            t, nodes = timed(runtime, build(shape, n, kind, head=r))
            cold.append(t)
            cached.append(timed(runtime, build(shape, n, kind, head=r))[0])
            tail.append(timed(runtime, build(shape, n, kind, head=r, tail=1))[0])
            head.append(timed(runtime, build(shape, n, kind, head=r + 1000))[0])
    return {"nodes": nodes, "cold_us_per_node": statistics.median(cold) / nodes * 1e6,  # validate + execute
            "cold_ms": statistics.median(cold) * 1e3, "cached_ms": statistics.median(cached) * 1e3,
            "tail_ms": statistics.median(tail) * 1e3, "head_ms": statistics.median(head) * 1e3}


REGISTRY = registry()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10000])
    parser.add_argument("--shapes", nargs="+", default=["chain", "fan", "fanx"])
    parser.add_argument("--kinds", nargs="+", default=["noop", "invert"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-subscriber", dest="subscriber", action="store_false",
                        help="measure the engine alone, with nobody listening to events")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    warm = Runtime.create(Settings(base_dir=tempfile.mkdtemp()), registry=REGISTRY)
    timed(warm, build("chain", 2, "invert"))  # warm imports
    gc.freeze()  # as `inkgraph serve` does once started: imported modules never need collecting
    print(f"event subscriber: {'JSON (as the server)' if args.subscriber else 'none'}")
    print(f"{'kind':6} {'shape':5} {'N':>6} {'nodes':>6} {'cold µs/node':>12} {'cold ms':>9} "
          f"{'cached ms':>9} {'tail ms':>9} {'head ms':>9}")
    for kind in args.kinds:
        for shape in args.shapes:
            for n in args.sizes:
                repeat = args.repeat if n < 10000 else 1
                m = measure(shape, n, kind, repeat, args.subscriber)
                print(f"{kind:6} {shape:5} {n:>6} {m['nodes']:>6} {m['cold_us_per_node']:>12.1f} "
                      f"{m['cold_ms']:>9.1f} {m['cached_ms']:>9.1f} {m['tail_ms']:>9.1f} {m['head_ms']:>9.1f}",
                      flush=True)


if __name__ == "__main__":
    main()

"""``inkgraph run --ray``: one workflow, a sweep of input overrides, fanned out over the Ray workers.

The runs go through the same :class:`~.dispatcher.Dispatcher` the server uses, fed from a throw-away
:class:`~engine.queue.PromptQueue`, so placement, file shipping and the re-queue of a lost worker's
prompt behave exactly as behind ``inkgraph serve --ray``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .actor import WorkerSettings
from .pool import RayOptions


def add_ray_arguments(parser: argparse.ArgumentParser, sweep: bool) -> None:
    group = parser.add_argument_group("scale-out on Ray (pip install 'inkgraph[ray]')")
    group.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                       help="run prompts on Ray worker actors: no ADDRESS starts a local Ray, 'auto' joins the "
                       "running cluster, ray://HOST:10001 connects as a client")
    group.add_argument("--ray-workers", type=int, metavar="N", help="worker actors (default: one per GPU, or one "
                       "per unit of --ray-resource, or 1 on a CPU-only cluster)")
    group.add_argument("--ray-resource", metavar="NAME", help="a custom Ray resource each worker takes one of "
                       "(CPU-only clusters and tests run several workers this way)")
    group.add_argument("--ray-num-cpus", type=int, metavar="N", help="CPUs of a local Ray (default: all)")
    group.add_argument("--ray-models", metavar="DIR", help="models folder on the worker machines (default: this "
                       "base directory's models/, when the workers can see it)")
    if sweep:
        group.add_argument("--sweep", action="append", default=[], metavar="NODE_ID.INPUT=V1,V2,...",
                           help="run once per value (repeatable: every combination); values parsed as JSON")
        group.add_argument("--sweep-csv", metavar="FILE", help="one run per row; columns are NODE_ID.INPUT")


def ray_options(args: argparse.Namespace) -> RayOptions:
    settings = WorkerSettings(models_dir=args.ray_models, device=args.device, dtype=args.dtype, vram=args.vram,
                              extra_model_paths=list(args.extra_model_paths_config),
                              custom_nodes=not args.disable_custom_nodes,
                              whitelist_custom_nodes=list(args.whitelist_custom_nodes))
    return RayOptions(address=args.ray, workers=args.ray_workers, resource=args.ray_resource,
                      num_cpus=args.ray_num_cpus, settings=settings)


def sweep_runs(sweeps: list[str], csv_path: str | None) -> list[list[str]]:
    """Each run as a list of ``NODE_ID.INPUT=VALUE`` overrides (the form ``--set`` takes)."""
    runs: list[list[str]] = []
    if csv_path:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                runs.append([f"{key}={value}" for key, value in row.items() if key])
    axes = []
    for sweep in sweeps:
        key, sep, values = sweep.partition("=")
        if not sep or "." not in key:
            raise ValueError(f"--sweep {sweep!r}: expected NODE_ID.INPUT=V1,V2,...")
        axes.append([f"{key}={value}" for value in _split_values(values)])
    combos = [list(c) for c in itertools.product(*axes)] if axes else []
    if runs and combos:
        return [row + combo for row in runs for combo in combos]
    return runs or combos or [[]]


def _split_values(values: str) -> list[str]:
    """Comma-separated, except inside JSON brackets or quotes (``[1,2],[3,4]`` is two values)."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in values:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def run_sweep(args: argparse.Namespace, runtime: Any, prompt: dict[str, Any], extra_data: dict[str, Any]) -> int:
    """Validate every run here, run them on the workers, print a results table. Exit 0 if all succeeded."""
    import copy

    from tqdm import tqdm

    from ..cli import EXIT_FAILED, EXIT_INVALID, EXIT_OK, CliError, apply_overrides, format_validation_errors
    from ..queue import PromptQueue, QueueItem
    from .dispatcher import Dispatcher
    from .pool import WorkerPool

    runs = sweep_runs(args.sweep, args.sweep_csv)
    prompts = []
    for overrides in runs:
        variant = copy.deepcopy(prompt)
        apply_overrides(variant, overrides)
        result = runtime.validate(variant)
        if not result.ok:
            print(f"run {' '.join(overrides) or '(no overrides)'}:\n{format_validation_errors(result, variant)}",
                  file=sys.stderr)
            return EXIT_INVALID
        prompts.append(variant)
    with tempfile.TemporaryDirectory(prefix="inkgraph-sweep-") as scratch:
        queue = PromptQueue(Path(scratch) / "sweep.db")
        ids = [str(uuid.uuid4()) for _ in prompts]
        for number, (prompt_id, variant) in enumerate(zip(ids, prompts, strict=True)):
            queue.put(QueueItem(number, prompt_id, variant, dict(extra_data), []))
        done = threading.Semaphore(0)
        bar = tqdm(total=len(prompts), unit="prompt", disable=args.no_progress, file=sys.stderr)
        options = ray_options(args)
        options.settings.models_dir = options.settings.models_dir or str(runtime.folders.models)
        options.settings.custom_nodes_dir = str(runtime.folders.base / "custom_nodes")
        started = time.perf_counter()
        def finished(item: QueueItem) -> None:
            bar.update()
            done.release()

        try:
            pool = WorkerPool(options)
        except RuntimeError as exc:
            raise CliError(str(exc)) from exc
        dispatcher = Dispatcher(queue, pool, runtime.folders, lambda event, target: None, finished)
        dispatcher.start()
        try:
            for _ in prompts:
                done.acquire()
        except KeyboardInterrupt:
            dispatcher.interrupt(None)
            return EXIT_FAILED
        finally:
            bar.close()
            elapsed = time.perf_counter() - started
            dispatcher.stop()
        history = queue.history()
        queue.close()
    failed = _print_table(runs, ids, history, dispatcher.placed, runtime)
    print(f"{len(runs)} runs on {len(dispatcher.pool.workers)} workers in {elapsed:.1f} s; {failed} failed",
          file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _print_table(runs: list[list[str]], ids: list[str], history: dict[str, Any], placed: dict[str, str],
                 runtime: Any) -> int:
    failed = 0
    print(f"{'#':>3}  {'status':8} {'worker':10} {'s':>6}  overrides → outputs")
    for index, (overrides, prompt_id) in enumerate(zip(runs, ids, strict=True), 1):
        entry = history.get(prompt_id, {})
        status = entry.get("status", {})
        times = {name: data.get("timestamp") for name, data in status.get("messages", [])}
        seconds = ""
        if times.get("execution_start") and times.get("execution_success"):
            seconds = f"{(times['execution_success'] - times['execution_start']) / 1000:.2f}"
        ok = status.get("status_str") == "success"
        failed += not ok
        files = [str(runtime.folders.resolve(i.get("type", "output"), i["filename"], i.get("subfolder", "")))
                 for output in entry.get("outputs", {}).values() for i in output.get("images", [])]
        shown = " ".join(overrides) or "(no overrides)"
        print(f"{index:>3}  {status.get('status_str', 'missing'):8} {placed.get(prompt_id, '-'):10} {seconds:>6}  "
              f"{shown} → {', '.join(files) or '-'}")
        if not ok:
            errors = [d for name, d in status.get("messages", []) if name == "execution_error"]
            if errors:
                print(f"     {errors[0].get('exception_type')}: {errors[0].get('exception_message', '').strip()}")
    return failed

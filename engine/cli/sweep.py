"""``inkgraph run --ray --sweep``: one workflow, a sweep of input overrides, a table of results."""

from __future__ import annotations

import argparse
import copy
import csv
import itertools
import sys
from typing import TYPE_CHECKING, Any

from .workflows import EXIT_FAILED, EXIT_INVALID, EXIT_OK, CliError, apply_overrides, format_validation_errors

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..scaleout.pool import RayOptions


def ray_options(args: argparse.Namespace) -> RayOptions:
    from ..scaleout.pool import RayOptions

    return RayOptions(address=args.ray, workers=args.ray_workers, resource=args.ray_resource,
                      num_cpus=args.ray_num_cpus, models_dir=args.ray_models)


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
            raise CliError(f"--sweep {sweep!r}: expected NODE_ID.INPUT=V1,V2,...")
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


def run_sweep(args: argparse.Namespace, runtime: Runtime, prompt: dict[str, Any], extra_data: dict[str, Any]) -> int:
    """Validate every run here, run them on the workers, print a results table. Exit 0 if all succeeded."""
    from tqdm import tqdm

    from ..scaleout.fanout import fan_out
    from ..scaleout.pool import worker_settings

    runs = sweep_runs(args.sweep, args.sweep_csv)
    prompts = []
    for overrides in runs:
        variant = copy.deepcopy(prompt)
        apply_overrides(variant, overrides)
        result = runtime.validate(variant)
        if not result.ok:
            problems = format_validation_errors(result, variant, runtime)
            print(f"run {' '.join(overrides) or '(no overrides)'}:\n{problems}", file=sys.stderr)
            return EXIT_INVALID
        prompts.append(variant)
    options = ray_options(args)
    bar = tqdm(total=len(prompts), unit="prompt", disable=args.no_progress, file=sys.stderr)
    try:
        done = fan_out(prompts, extra_data, options, worker_settings(options, runtime.settings, runtime.folders),
                       runtime.folders, bar.update)
    except RuntimeError as exc:
        raise CliError(str(exc)) from exc
    except KeyboardInterrupt:
        return EXIT_FAILED
    finally:
        bar.close()
    failed = _print_table(runs, done.ids, done.history, done.placed, runtime)
    print(f"{len(runs)} runs on {done.workers} workers in {done.seconds:.1f} s; {failed} failed", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _print_table(runs: list[list[str]], ids: list[str], history: dict[str, Any], placed: dict[str, str],
                 runtime: Runtime) -> int:
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

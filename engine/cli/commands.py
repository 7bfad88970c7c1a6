"""The sub-commands of ``inkgraph``: each takes the parsed options and returns the exit code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .parser import settings_from
from .progress import ProgressView, event_writer
from .running import run_interruptibly
from .workflows import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    CliError,
    apply_overrides,
    format_validation_errors,
    load_workflow,
    node_labels,
    output_paths,
)

if TYPE_CHECKING:
    from ..runtime import Runtime


def _runtime(args: argparse.Namespace) -> Runtime:
    from ..runtime import Runtime

    return Runtime.create(settings_from(args))


def cmd_validate(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    prompt = load_workflow(args.workflow, runtime.registry.get).prompt
    apply_overrides(prompt, args.set)
    result = runtime.validate(prompt)
    if args.json:
        body = result.error_body() if not result.ok else {
            "outputs": result.plan.outputs if result.plan else [],
            "node_errors": {k: v.model_dump() for k, v in result.node_errors.items()}}
        print(json.dumps(body, indent=2))
    elif result.ok:
        assert result.plan is not None
        print(f"valid: {len(result.plan.nodes)} nodes to run for outputs {', '.join(result.plan.outputs)}")
        if result.node_errors:
            print(format_validation_errors(result, prompt, runtime), file=sys.stderr)
    else:
        print(format_validation_errors(result, prompt, runtime), file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_INVALID


def cmd_run(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    loaded = load_workflow(args.workflow, runtime.registry.get)
    prompt = loaded.prompt
    apply_overrides(prompt, args.set)
    result = runtime.validate(prompt)
    if not result.ok or result.plan is None:
        print(format_validation_errors(result, prompt, runtime), file=sys.stderr)
        return EXIT_INVALID
    if result.node_errors:
        print(format_validation_errors(result, prompt, runtime), file=sys.stderr)
    # the UI workflow, when the file had one, is embedded in saved images as ComfyUI's frontend does
    extra_data = {"extra_pnginfo": {"workflow": loaded.workflow}} if loaded.workflow is not None else {}
    if args.ray is not None or args.sweep or args.sweep_csv:
        if args.ray is None:
            raise CliError("--sweep and --sweep-csv fan out over Ray workers: add --ray")
        from .sweep import run_sweep

        return run_sweep(args, runtime, prompt, extra_data)
    plan = result.plan
    view = ProgressView(not args.no_progress and args.events != "-", node_labels(prompt), len(plan.nodes))
    runtime.bus.subscribe(view)
    events_file: IO[str] | None = None
    if args.events:
        events_file = sys.stdout if args.events == "-" else open(args.events, "w", encoding="utf-8")  # noqa: SIM115
        runtime.bus.subscribe(event_writer(events_file))
    try:
        outcome = run_interruptibly(runtime.executor, plan, extra_data)
    finally:
        view.close()
        if events_file is not None and events_file is not sys.stdout:
            events_file.close()
    if outcome is None:  # the second Ctrl+C: the run is abandoned where it is
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    paths = output_paths(runtime, outcome)
    out = sys.stderr if args.events == "-" else sys.stdout
    for path in paths:
        print(path, file=out)
    out.flush()
    if outcome.interrupted:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    if outcome.error is not None:
        err = outcome.error
        print(f"Error in node {err['node_id']} ({err['node_type']}): {err['exception_type']}: "
              f"{err['exception_message'].strip()}", file=sys.stderr)
        return EXIT_FAILED
    cached = len(outcome.cached)
    print(f"done: {len(outcome.executed)} nodes ran, {cached} cached", file=sys.stderr)
    return EXIT_OK


def cmd_nodes(args: argparse.Namespace) -> int:
    from ..core.object_info import node_info, object_info
    from ..core.paths import Folders
    from ..runtime.packs import default_registry

    settings = settings_from(args)
    folders = Folders.at(settings.base_dir, list(settings.extra_model_paths))
    registry = default_registry(custom_nodes=folders.custom_node_dirs(), enabled=settings.custom_nodes,
                                whitelist=settings.whitelist_custom_nodes, folders=folders)
    if args.class_type:
        spec = registry.get(args.class_type)
        if spec is None:
            raise CliError(f"no node type {args.class_type!r} (see: inkgraph nodes)")
        info = node_info(spec, folders)
        if args.json:
            print(json.dumps({spec.class_type: info}, indent=2))
            return EXIT_OK
        print(f"{spec.class_type} — {spec.display_name}  [{spec.category}]  v{spec.version}")
        if spec.description:
            print(f"  {spec.description}")
        for inp in spec.inputs:
            config = inp.input_config(folders)
            kind = "optional" if inp.optional else "required"
            shown = config[0] if not isinstance(config[0], list) else f"one of {config[0]}"
            opts = config[1] if len(config) > 1 else {}
            print(f"  in  {inp.name}: {shown} ({kind}){' ' + json.dumps(opts) if opts else ''}")
        for out in spec.outputs:
            print(f"  out {out.name}: {out.type}{' (list)' if out.is_list else ''}")
        return EXIT_OK
    if args.json:
        print(json.dumps(object_info(registry, folders), indent=2))
        return EXIT_OK
    for spec in sorted(registry, key=lambda s: (s.category, s.class_type)):
        print(f"{spec.class_type:32} {spec.category:24} {spec.display_name}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server.app import serve
    from .parser import server_config_from
    from .sweep import ray_options

    try:
        config = server_config_from(args, ray_options(args) if args.ray is not None else None)
        serve(config)
    except RuntimeError as exc:  # a missing frontend or Ray, a Ray cluster too small for the workers asked
        raise CliError(str(exc)) from exc
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    from ..core.formats import api_to_ui

    runtime = _runtime(args)
    loaded = load_workflow(args.input, runtime.registry.get)
    target = args.to or ("api" if loaded.source in ("ui", "image-workflow") else "ui")
    if target == "api":
        data = loaded.prompt
    else:
        data = loaded.workflow if loaded.workflow is not None and loaded.source != "api" else \
            api_to_ui(loaded.prompt, runtime.registry.get)
    text = json.dumps(data, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    unknown = sorted({str(n.get("class_type")) for n in loaded.prompt.values() if isinstance(n, dict)
                      and runtime.registry.get(str(n.get("class_type"))) is None})
    if unknown:
        print(f"inkgraph: unknown node types (not installed here): {', '.join(unknown)}", file=sys.stderr)
    return EXIT_OK


def cmd_train_demo(args: argparse.Namespace) -> int:
    import torch

    from ...nodes.demo.stages import Settings, Start
    from ...nodes.demo.train import train
    from ..core.paths import Folders
    from ..core.resources import shipped_models

    if args.threads:
        torch.set_num_threads(args.threads)
    folders = Folders.at(args.base_dir)
    work = Path(args.work) if args.work else folders.user / "train-demo"
    output = Path(args.output) if args.output else shipped_models()
    if output is None:
        raise CliError("this installation ships no models folder: name one with --output")
    init_from = Path(args.init_from) if args.init_from else None
    if init_from is not None and (missing := Start.missing(init_from)):
        raise CliError(f"--init-from {init_from}: no demo model there ({', '.join(map(str, missing))} not found)")
    train(Settings(work=work, output=output, minutes=args.minutes, device=args.device, seed=args.seed,
                   bank_size=args.bank_size, init_from=init_from, report=lambda line: print(line, flush=True)))
    return EXIT_OK

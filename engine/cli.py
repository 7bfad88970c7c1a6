"""``inkgraph``: run, validate and inspect workflows from the command line.

Start-up is kept cheap: argparse first, then only the modules a command needs (``--help`` imports
nothing else; ``validate`` and ``nodes`` never import torch).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from .events import Event
    from .executor import ExecutionOutcome
    from .formats import Loaded
    from .runtime import Runtime
    from .validation import ValidationResult

EXIT_OK, EXIT_INVALID, EXIT_FAILED = 0, 1, 2


class CliError(Exception):
    """A user-facing problem with the command line or its files (exit code 1)."""


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    from .scaleout.sweep import add_ray_arguments

    parser = argparse.ArgumentParser(prog="inkgraph", description="Node-graph workflow engine for diffusion "
                                     "image generation, compatible with ComfyUI workflows.")
    parser.add_argument("--version", action="version", version=f"inkgraph {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_base(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base-dir", help="folder holding input/, output/, temp/, models/, user/ "
                       "(default: $INKGRAPH_BASE_DIR or ~/.local/share/inkgraph)")
        p.add_argument("--extra-model-paths-config", nargs="+", default=[], metavar="YAML",
                       help="ComfyUI-style extra_model_paths.yaml files (<base-dir>/extra_model_paths.yaml "
                       "is always read)")
        p.add_argument("--disable-all-custom-nodes", "--disable-custom-nodes", dest="disable_custom_nodes",
                       action="store_true", help="load no node packs from custom_nodes/ or entry points")
        p.add_argument("--whitelist-custom-nodes", nargs="+", default=[], metavar="PACK",
                       help="with --disable-all-custom-nodes, still load these packs (folder names)")

    def add_device(p: argparse.ArgumentParser) -> None:
        p.add_argument("--device", help="compute device: cuda, cuda:1, mps, cpu (default: the best available)")
        p.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], help="weights dtype (default: fp16 on "
                       "capable CUDA cards, fp32 on the CPU)")
        p.add_argument("--vram", choices=["high", "normal", "low", "cpu"], default="normal",
                       help="high: keep models on the device; low: one model at a time; cpu: compute on CPU")

    run = sub.add_parser("run", help="run a workflow (API-format JSON)")
    run.add_argument("workflow", help="workflow JSON file, or - for stdin")
    run.add_argument("--set", action="append", default=[], metavar="NODE_ID.INPUT=VALUE",
                     help="override an input; VALUE is parsed as JSON when it can be (repeatable)")
    run.add_argument("--events", metavar="FILE", help="write every event as a JSON line to FILE (- for stdout)")
    run.add_argument("--cache", choices=["lru", "classic", "none"], default="lru")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_base(run)
    add_device(run)
    add_ray_arguments(run, sweep=True)

    validate = sub.add_parser("validate", help="check a workflow without running it")
    validate.add_argument("workflow")
    validate.add_argument("--set", action="append", default=[], metavar="NODE_ID.INPUT=VALUE")
    validate.add_argument("--json", action="store_true", help="print the POST /prompt response body")
    add_base(validate)

    serve = sub.add_parser("serve", help="run the HTTP/websocket server (ComfyUI-compatible API)")
    serve.add_argument("--listen", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else requires an access token)")
    serve.add_argument("--port", type=int, default=8188)
    serve.add_argument("--auth-token", help="access token (generated and printed when binding beyond loopback)")
    serve.add_argument("--max-upload-size", type=int, default=100, metavar="MB")
    serve.add_argument("--cache", choices=["lru", "classic", "none"], default="lru")
    serve.add_argument("--cache-ram", type=float, default=4.0, metavar="GB", help="byte budget of the lru cache")
    serve.add_argument("--preview-method", choices=["none", "auto", "latent2rgb", "taesd"], default="none")
    serve.add_argument("--frontend", choices=["inkgraph", "comfyui"], default="inkgraph",
                       help="the web UI at /: Inkgraph's canvas, or ComfyUI's official frontend "
                       "(pip install 'inkgraph[comfyui-frontend]')")
    add_base(serve)
    add_device(serve)
    add_ray_arguments(serve, sweep=False)

    convert = sub.add_parser("convert", help="convert a workflow between the UI (canvas) and API formats")
    convert.add_argument("input", help="workflow JSON (either format) or a PNG/WebP with one embedded; - for stdin")
    convert.add_argument("output", help="file to write, - for stdout")
    convert.add_argument("--to", choices=["api", "ui"], help="target format (default: the other one)")
    add_base(convert)

    train = sub.add_parser("train-demo", help="train the embedded demo model from scratch (resumable)")
    train.add_argument("--minutes", type=float, default=85.0, help="total training time (default 85)")
    train.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps (default cpu)")
    train.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--bank-size", type=int, default=8000, help="scenes encoded for the diffusion stage")
    train.add_argument("--work", default=None, help="checkpoints, resumed from (default <base-dir>/user/train-demo)")
    train.add_argument("--output", default=None, help="models folder to write into (default: the shipped one, "
                       "<repository>/models)")
    add_base(train)

    nodes = sub.add_parser("nodes", help="list node types, or describe one")
    nodes.add_argument("class_type", nargs="?")
    nodes.add_argument("--json", action="store_true", help="print object_info")
    add_base(nodes)
    return parser


# -- workflow files ---------------------------------------------------------------------------------

def load_workflow(path: str, spec_of: Callable[[str], Any]) -> Loaded:
    """Read a workflow: API prompt or POST /prompt body, UI workflow (converted), or a PNG/WebP with one."""
    from .formats import FormatError, read_any

    try:
        content = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        loaded = read_any(content, spec_of)
    except FormatError as exc:
        raise CliError(f"{path}: {exc}") from exc
    for warning in loaded.warnings:
        print(f"inkgraph: {path}: {warning}", file=sys.stderr)
    return loaded


def apply_overrides(prompt: dict[str, Any], assignments: list[str]) -> None:
    """``--set 3.seed=42``: node ids may contain dots or colons, so the longest matching id wins."""
    for assignment in assignments:
        target, sep, raw = assignment.partition("=")
        if not sep:
            raise CliError(f"--set {assignment!r}: expected NODE_ID.INPUT=VALUE")
        matches = [n for n in prompt if target.startswith(f"{n}.") and len(target) > len(n) + 1]
        if not matches:
            raise CliError(f"--set {assignment!r}: no node id in the workflow matches {target!r}")
        node_id = max(matches, key=len)
        name = target[len(node_id) + 1:]
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        prompt[node_id].setdefault("inputs", {})[name] = value


# -- reporting --------------------------------------------------------------------------------------

def format_validation_errors(result: ValidationResult, prompt: dict[str, Any]) -> str:
    lines = []
    if result.error is not None:
        lines.append(f"Workflow is invalid: {result.error.message}")
        if not result.node_errors and result.error.details:
            lines.append(f"  {result.error.details}")
    for node_id, entry in result.node_errors.items():
        title = ((prompt.get(node_id) or {}).get("_meta") or {}).get("title")
        label = f"node {node_id} ({entry.class_type}{', ' + repr(title) if title and title != entry.class_type else ''})"
        for error in entry.errors:
            name = error.extra_info.get("input_name")
            where = f"{label} input '{name}'" if name else label
            lines.append(f"  {where}: {error.message}" + (f" — {error.details}" if error.details else ""))
    return "\n".join(lines)


def output_paths(runtime: Runtime, outcome: ExecutionOutcome) -> list[Path]:
    from .paths import PathEscapeError

    paths = []
    for ui in outcome.outputs.values():
        for item in ui.get("images", []) if isinstance(ui, dict) else []:
            if isinstance(item, dict) and item.get("type") in ("output", "temp", "input"):
                try:
                    paths.append(runtime.folders.resolve(item["type"], item["filename"], item.get("subfolder", "")))
                except (PathEscapeError, KeyError):
                    continue
    return paths


class ProgressView:
    """tqdm bars driven by events: one for nodes, one for the steps of the node that reports progress."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.nodes_bar: Any = None
        self.step_bar: Any = None
        self.step_node: str | None = None
        self.total = 0

    def set_total(self, total: int) -> None:
        self.total = total

    def __call__(self, event: Event, target: str | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if event.type == "executing" and getattr(event, "node", None):
            if self.nodes_bar is None:
                self.nodes_bar = tqdm(total=self.total, desc="nodes", unit="node", leave=True, file=sys.stderr)
            self.nodes_bar.set_postfix_str(f"{event.node}")  # type: ignore[attr-defined]
        elif event.type == "progress_state":
            for state in event.nodes.values():  # type: ignore[attr-defined]
                if state["state"] == "finished" and self.nodes_bar is not None:
                    self.nodes_bar.update(1)
                    self._close_steps()
        elif event.type == "progress":
            node, value, maximum = event.node, event.value, event.max  # type: ignore[attr-defined]
            if self.step_node != node:
                self._close_steps()
                self.step_bar = tqdm(total=maximum, desc=f"  node {node}", unit="step", leave=False,
                                     file=sys.stderr)
                self.step_node = node
            self.step_bar.total = maximum
            self.step_bar.n = value
            self.step_bar.refresh()

    def _close_steps(self) -> None:
        if self.step_bar is not None:
            self.step_bar.close()
            self.step_bar, self.step_node = None, None

    def close(self) -> None:
        self._close_steps()
        if self.nodes_bar is not None:
            self.nodes_bar.close()


def event_writer(stream: IO[str]) -> Any:
    lock = threading.Lock()

    def write(event: Event, target: str | None) -> None:
        if event.type == "preview_image":
            return
        line = json.dumps(event.message())
        with lock:
            stream.write(line + "\n")
            stream.flush()

    return write


# -- commands ---------------------------------------------------------------------------------------

def _runtime(args: argparse.Namespace, cache: str = "lru") -> Runtime:
    from .runtime import Runtime

    return Runtime.create(args.base_dir, cache=cache,  # type: ignore[arg-type]
                          device=getattr(args, "device", None), dtype=getattr(args, "dtype", None),
                          vram=getattr(args, "vram", "normal"),
                          extra_model_paths=[Path(p) for p in args.extra_model_paths_config],
                          custom_nodes=not args.disable_custom_nodes, whitelist_custom_nodes=args.whitelist_custom_nodes)


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
            print(format_validation_errors(result, prompt), file=sys.stderr)
    else:
        print(format_validation_errors(result, prompt), file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_INVALID


def cmd_run(args: argparse.Namespace) -> int:
    runtime = _runtime(args, cache=args.cache)
    loaded = load_workflow(args.workflow, runtime.registry.get)
    prompt = loaded.prompt
    apply_overrides(prompt, args.set)
    result = runtime.validate(prompt)
    if not result.ok or result.plan is None:
        print(format_validation_errors(result, prompt), file=sys.stderr)
        return EXIT_INVALID
    if result.node_errors:
        print(format_validation_errors(result, prompt), file=sys.stderr)
    # the UI workflow, when the file had one, is embedded in saved images as ComfyUI's frontend does
    extra_data = {"extra_pnginfo": {"workflow": loaded.workflow}} if loaded.workflow is not None else {}
    if args.ray is not None or args.sweep or args.sweep_csv:
        if args.ray is None:
            raise CliError("--sweep and --sweep-csv fan out over Ray workers: add --ray")
        from .scaleout.sweep import run_sweep

        return run_sweep(args, runtime, prompt, extra_data)
    plan = result.plan
    view = ProgressView(enabled=not args.no_progress and args.events != "-")
    view.set_total(len(plan.nodes))
    runtime.bus.subscribe(view)
    events_file: IO[str] | None = None
    if args.events:
        events_file = sys.stdout if args.events == "-" else open(args.events, "w", encoding="utf-8")  # noqa: SIM115
        runtime.bus.subscribe(event_writer(events_file))
    outcome_box: list[ExecutionOutcome] = []
    worker = threading.Thread(target=lambda: outcome_box.append(runtime.executor.execute(plan, extra_data=extra_data)),
                              daemon=True, name="inkgraph-executor")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        runtime.executor.interrupt()
        worker.join()
    finally:
        view.close()
        if events_file is not None and events_file is not sys.stdout:
            events_file.close()
    outcome = outcome_box[0]
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
    from .object_info import node_info, object_info
    from .paths import Folders
    from .registry import NodeRegistry

    folders = Folders.at(args.base_dir, [Path(p) for p in args.extra_model_paths_config])
    registry = NodeRegistry.default(custom_nodes=folders.custom_node_dirs(), enabled=not args.disable_custom_nodes,
                                    whitelist=args.whitelist_custom_nodes, folders=folders)
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
    from .scaleout.sweep import ray_options
    from .server.app import ServerConfig, serve

    try:
        config = ServerConfig(
            base_dir=args.base_dir, listen=args.listen, port=args.port, auth_token=args.auth_token,
            max_upload_mb=args.max_upload_size, cache=args.cache, cache_budget_bytes=int(args.cache_ram * 1024**3),
            preview_method=args.preview_method, frontend=args.frontend, device=args.device, dtype=args.dtype,
            vram=args.vram, extra_model_paths=[Path(p) for p in args.extra_model_paths_config],
            custom_nodes=not args.disable_custom_nodes, whitelist_custom_nodes=args.whitelist_custom_nodes,
            ray=ray_options(args) if args.ray is not None else None)
        serve(config)
    except RuntimeError as exc:  # a missing frontend or Ray, a Ray cluster too small for the workers asked
        raise CliError(str(exc)) from exc
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    from .formats import api_to_ui

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

    from nodes.demo.train import Settings, train

    from .model_paths import SHIPPED_MODELS
    from .paths import Folders

    if args.threads:
        torch.set_num_threads(args.threads)
    folders = Folders.at(args.base_dir)
    work = Path(args.work) if args.work else folders.user / "train-demo"
    output = Path(args.output) if args.output else SHIPPED_MODELS
    train(Settings(work=work, output=output, minutes=args.minutes, device=args.device, seed=args.seed,
                   bank_size=args.bank_size,
                   report=lambda line: print(line, flush=True)))
    return EXIT_OK


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "nodes": cmd_nodes, "serve": cmd_serve, "convert": cmd_convert,
            "train-demo": cmd_train_demo}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the CLI reports validation and node errors itself, readably
        logging.getLogger("engine").setLevel(logging.CRITICAL)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"inkgraph: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # `inkgraph nodes | head`: the reader left; stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def entry() -> None:
    """The console script: :func:`main`, then leave without tearing the interpreter down.

    Finalising the thousands of modules torch, diffusers and transformers bring takes 1.3 s on a 2-core
    machine: longer than the default workflow's sampler. Everything that matters still happens: output is
    flushed, atexit handlers run (Ray's shutdown, temporary files, logging). Only when a non-daemon
    thread is still running does the ordinary exit (which waits for it) take over.
    """
    import atexit
    import os
    import threading

    code = main()
    if any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    entry()

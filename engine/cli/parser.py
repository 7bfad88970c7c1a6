"""``inkgraph``'s command line: the sub-commands, their options, and the :class:`Settings` they make.

Every option has help text; options that are engine settings are turned into one :class:`Settings` here
and nowhere else.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.settings import Settings

if TYPE_CHECKING:
    from ..server.app import ServerConfig

GB = 1024**3


def _version() -> str:
    from .. import __version__

    return __version__


def _add_base(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-dir", "--base-directory", dest="base_dir",
                   help="folder holding input/, output/, temp/, models/, user/ and custom_nodes/ "
                   "(default: $INKGRAPH_BASE_DIR or ~/.local/share/inkgraph)")
    for folder in ("output", "input", "temp", "user"):
        p.add_argument(f"--{folder}-directory", dest=f"{folder}_dir", metavar="DIR",
                       help=f"put the {folder} folder here instead of <base-dir>/{folder}")
    p.add_argument("--extra-model-paths-config", nargs="+", action="extend", default=[], metavar="YAML",
                   help="ComfyUI-style extra_model_paths.yaml files (<base-dir>/extra_model_paths.yaml "
                   "is always read; repeatable)")
    p.add_argument("--disable-all-custom-nodes", "--disable-custom-nodes", dest="disable_custom_nodes",
                   action="store_true", help="load no node packs from custom_nodes/ or entry points")
    p.add_argument("--whitelist-custom-nodes", nargs="+", action="extend", default=[], metavar="PACK",
                   help="with --disable-all-custom-nodes, still load these packs (folder names)")
    p.add_argument("--disable-api-nodes", action="store_true",
                   help="skip the nodes packs mark as API nodes (calls to paid remote services)")


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help="compute device: cuda, cuda:1, mps, cpu (default: the best available)")
    p.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], help="weights dtype (default: fp16 on "
                   "capable CUDA cards, fp32 on the CPU)")
    vram = p.add_mutually_exclusive_group()
    vram.add_argument("--vram", choices=["high", "normal", "low", "cpu"], default="normal",
                      help="high: keep models on the device; low: one model at a time; cpu: compute on the CPU")
    for flag, mode, text in (("--highvram", "high", "--vram high (ComfyUI's flag)"),
                             ("--normalvram", "normal", "--vram normal (ComfyUI's flag)"),
                             ("--lowvram", "low", "--vram low (ComfyUI's flag)"),
                             ("--novram", "low", "--vram low: Inkgraph's lowest-memory mode (ComfyUI's flag)"),
                             ("--cpu", "cpu", "compute on the CPU (--vram cpu; ComfyUI's flag)")):
        vram.add_argument(flag, dest="vram", action="store_const", const=mode, help=text)


class _CacheLru(argparse.Action):
    """ComfyUI's ``--cache-lru N``: the lru cache, holding at most N results."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        namespace.cache = "lru"
        namespace.cache_entries = int(values)


class _CacheRam(argparse.Action):
    """``--cache-ram [GB]``: the lru cache; a value is the memory it may hold."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        namespace.cache = "lru"
        if values:
            namespace.cache_ram = float(values[0])


def _add_cache(p: argparse.ArgumentParser) -> None:
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--cache", choices=["lru", "classic", "none"], default="lru",
                       help="what node results are kept: lru (across prompts, within --cache-ram; default), "
                       "classic (the last prompt's, as ComfyUI), none")
    cache.add_argument("--cache-classic", dest="cache", action="store_const", const="classic",
                       help="--cache classic (ComfyUI's flag)")
    cache.add_argument("--cache-none", dest="cache", action="store_const", const="none",
                       help="--cache none (ComfyUI's flag)")
    cache.add_argument("--cache-lru", type=int, action=_CacheLru, metavar="N",
                       help="--cache lru, keeping at most N results as well (ComfyUI's flag)")
    p.add_argument("--cache-ram", nargs="*", action=_CacheRam, metavar="GB", default=4.0,
                   help="memory the lru cache may hold (default 4 GB); alone, selects the lru cache. (ComfyUI "
                   "reads GB as memory to keep free; Inkgraph as the cache's budget)")


def _add_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-batch-pixels", type=int, default=Settings().max_batch_pixels, metavar="N",
                   help="the most pixels (width × height × batch) one empty image or latent node may ask for; "
                   "larger requests fail validation (default 268435456, 0 = no limit)")


def _add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="NODE_ID.INPUT=VALUE",
                   help="override an input; VALUE is parsed as JSON when it can be (repeatable)")


WORKFLOW_HELP = ("a workflow: API-format or UI-format JSON, a PNG/WebP with one embedded, the name of an "
                 "example workflow shipped with Inkgraph (e.g. txt2img), or - for stdin")


def _add_ray(parser: argparse.ArgumentParser, sweep: bool) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkgraph", description="Node-graph workflow engine for diffusion "
                                     "image generation, compatible with ComfyUI workflows.")
    parser.add_argument("--version", action="version", version=f"inkgraph {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a workflow")
    run.add_argument("workflow", help=WORKFLOW_HELP)
    _add_overrides(run)
    _add_limits(run)
    run.add_argument("--events", metavar="FILE", help="write every event as a JSON line to FILE (- for stdout)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars or lines")
    _add_cache(run)
    _add_base(run)
    _add_device(run)
    _add_ray(run, sweep=True)

    validate = sub.add_parser("validate", help="check a workflow without running it")
    validate.add_argument("workflow", help=WORKFLOW_HELP)
    _add_overrides(validate)
    _add_limits(validate)
    validate.add_argument("--json", action="store_true", help="print the POST /prompt response body")
    _add_base(validate)

    serve = sub.add_parser("serve", help="run the HTTP/websocket server (ComfyUI-compatible API)")
    serve.add_argument("--listen", default="127.0.0.1", nargs="?", const="0.0.0.0,::", metavar="IP",
                       help="address(es) to bind, comma-separated (default 127.0.0.1; alone: 0.0.0.0,:: — every "
                       "interface); anything beyond loopback requires an access token")
    serve.add_argument("--port", type=int, default=8188, help="port to listen on (default 8188)")
    serve.add_argument("--auth-token", help="access token (generated and printed when binding beyond loopback)")
    serve.add_argument("--max-upload-size", type=float, default=100, metavar="MB",
                       help="largest upload accepted, in MB (default 100); larger requests are refused unread")
    serve.add_argument("--max-json-size", type=int, default=32, metavar="MB",
                       help="largest JSON body accepted (a prompt with its workflow), in MB (default 32)")
    _add_cache(serve)
    _add_limits(serve)
    serve.add_argument("--preview-method", choices=["none", "auto", "latent2rgb", "taesd"], default="none",
                       help="live previews while sampling (default none; clients may ask per prompt)")
    serve.add_argument("--frontend", choices=["inkgraph", "comfyui"], default="inkgraph",
                       help="the web UI at /: Inkgraph's canvas, or ComfyUI's official frontend "
                       "(pip install 'inkgraph[comfyui-frontend]')")
    serve.add_argument("--front-end-root", metavar="DIR", help="serve the web UI from this folder (a built "
                       "frontend; overrides --frontend)")
    serve.add_argument("--enable-cors-header", nargs="?", const="*", metavar="ORIGIN",
                       help="answer cross-origin requests from ORIGIN (alone: any origin); turns off the "
                       "loopback origin check")
    serve.add_argument("--database-url", metavar="URL", help="the queue and history database, sqlite:///PATH "
                       "(or sqlite:///:memory:; default <user>/inkgraph.db)")
    serve.add_argument("--multi-user", action="store_true", help="per-user settings and files: each browser "
                       "profile picks a user (the comfy-user header), as ComfyUI")
    serve.add_argument("--dont-print-server", action="store_true", help="do not print the listening address "
                       "(an access token made up for you is still printed)")
    serve.add_argument("--disable-auto-launch", action="store_true", help="accepted for ComfyUI's launchers: "
                       "Inkgraph never opens a browser")
    serve.add_argument("--verbose", dest="log_level", nargs="?", const="DEBUG", metavar="LEVEL",
                       choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                       help="log level of the server (alone: DEBUG; default WARNING)")
    _add_base(serve)
    _add_device(serve)
    _add_ray(serve, sweep=False)

    convert = sub.add_parser("convert", help="convert a workflow between the UI (canvas) and API formats")
    convert.add_argument("input", help=WORKFLOW_HELP)
    convert.add_argument("output", help="file to write, - for stdout")
    convert.add_argument("--to", choices=["api", "ui"], help="target format (default: the other one)")
    _add_base(convert)

    train = sub.add_parser("train-demo", help="train the embedded demo model from scratch (resumable)")
    train.add_argument("--minutes", type=float, default=85.0, help="total training time (default 85)")
    train.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps (default cpu)")
    train.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    train.add_argument("--seed", type=int, default=0, help="seed of the scenes and the initial weights")
    train.add_argument("--bank-size", type=int, default=20000, help="scenes encoded for the diffusion stage")
    train.add_argument("--work", default=None, help="checkpoints, resumed from (default <base-dir>/user/train-demo)")
    train.add_argument("--output", default=None, help="models folder to write into (default: the one shipped "
                       "in the package)")
    train.add_argument("--init-from", default=None, help="a models folder whose demo model to continue from (its "
                       "VAE encoder is kept; its decoder is refined, and the UNet, text encoder and upscaler "
                       "train on)")
    _add_base(train)

    nodes = sub.add_parser("nodes", help="list node types, or describe one")
    nodes.add_argument("class_type", nargs="?", help="describe this node type")
    nodes.add_argument("--json", action="store_true", help="print object_info")
    _add_base(nodes)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The engine settings a command's options ask for (options a command lacks keep their defaults)."""
    defaults = Settings()

    def folder(name: str) -> Path | None:
        value = getattr(args, name, None)
        return Path(value) if value else None

    return Settings(
        base_dir=Path(args.base_dir) if args.base_dir else None,
        input_dir=folder("input_dir"),
        output_dir=folder("output_dir"),
        temp_dir=folder("temp_dir"),
        user_dir=folder("user_dir"),
        cache=getattr(args, "cache", defaults.cache),
        cache_budget_bytes=int(getattr(args, "cache_ram", defaults.cache_budget_bytes / GB) * GB),
        cache_entries=getattr(args, "cache_entries", None) or 0,
        device=getattr(args, "device", None),
        dtype=getattr(args, "dtype", None),
        vram=getattr(args, "vram", defaults.vram),
        extra_model_paths=tuple(Path(p) for p in args.extra_model_paths_config),
        custom_nodes=not args.disable_custom_nodes,
        whitelist_custom_nodes=tuple(args.whitelist_custom_nodes),
        api_nodes=not getattr(args, "disable_api_nodes", False),
        preview_method=getattr(args, "preview_method", defaults.preview_method),
        max_batch_pixels=getattr(args, "max_batch_pixels", defaults.max_batch_pixels),
    )


def server_config_from(args: argparse.Namespace, ray: Any = None) -> ServerConfig:
    """``inkgraph serve``'s :class:`ServerConfig`: the engine settings plus the server's own options."""
    from ..server.app import ServerConfig

    return ServerConfig(settings=settings_from(args), listen=args.listen, port=args.port, auth_token=args.auth_token,
                        max_upload_mb=args.max_upload_size, max_json_mb=args.max_json_size,
                        frontend=args.frontend, ray=ray,
                        front_end_root=Path(args.front_end_root) if args.front_end_root else None,
                        cors_origin=args.enable_cors_header, database_url=args.database_url,
                        multi_user=args.multi_user, quiet=args.dont_print_server)

"""``inkgraph``: run, validate and inspect workflows, serve the API, from the command line.

Start-up is kept cheap: argparse first, then only the modules a command needs (``--help`` imports
nothing else; ``validate`` and ``nodes`` never import torch).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from .parser import build_parser
from .workflows import EXIT_FAILED, EXIT_INVALID, EXIT_OK, CliError

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "CliError", "build_parser", "entry", "main"]


def _commands() -> dict[str, Callable[..., int]]:
    from . import commands

    return {"run": commands.cmd_run, "validate": commands.cmd_validate, "nodes": commands.cmd_nodes,
            "serve": commands.cmd_serve, "convert": commands.cmd_convert, "train-demo": commands.cmd_train_demo}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = getattr(args, "log_level", None)  # serve --verbose [LEVEL], ComfyUI's flag
    if args.command == "serve" and not args.verbose:
        # a server's log is its output, as ComfyUI's: one line per prompt ("got prompt", "Prompt executed
        # in 1.23 seconds"), node failures with their traceback, what loaded at start; others' warnings
        logging.basicConfig(level=getattr(logging, level or "WARNING"), format="%(message)s")
        logging.getLogger("inkgraph").setLevel(getattr(logging, level or "INFO"))
    else:
        logging.basicConfig(level=logging.INFO if args.verbose else getattr(logging, level or "WARNING"),
                            format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose and args.command != "serve":  # the CLI reports validation and node errors itself
        logging.getLogger("inkgraph").setLevel(logging.CRITICAL)
        # … but not why a node pack is missing: one line per pack that failed to load
        logging.getLogger("inkgraph.engine.core.registry").setLevel(logging.WARNING)
    try:
        return _commands()[args.command](args)
    except CliError as exc:
        print(f"inkgraph: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:  # Ctrl+C outside a run (loading models, importing torch): nothing to keep
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
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


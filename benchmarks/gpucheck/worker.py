"""The worker process: imports the heavy libraries once, then runs the sections it is sent, one at a time.

Its standard output and error (C libraries' too) go to ``worker.log`` in the report folder, so the console
shows only the supervisor's one line per section. A guard refuses every connection that would leave the
machine and records the attempt: the check must run on a machine with no network, and must prove it
asked for none.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import socket
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .context import SectionContext, Skipped

NETWORK_ATTEMPTS: list[str] = []  # read by the env section
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}


def serve(conn: Connection, options: dict[str, Any]) -> None:
    started = time.monotonic()
    try:
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        _redirect_output(out / "worker.log")
        _guard_network()
        imports = _warm_imports(options)
        conn.send(("ready", {"pid": os.getpid(), "startup_s": time.monotonic() - started, **imports}))
    except BaseException:  # report anything, even SystemExit from a broken import
        conn.send(("failed", traceback.format_exc()))
        return
    fixtures: dict[str, Any] = {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message[0] == "stop":
            return
        _run_one(conn, message[1], float(message[2]), options, fixtures)


def _run_one(conn: Connection, name: str, budget: float, options: dict[str, Any], fixtures: dict[str, Any]) -> None:
    print(f"\n===== section {name} ({budget:.0f} s) =====", flush=True)
    ctx = SectionContext(conn.send, options, fixtures, budget)
    status, error = "pass", None
    try:
        module = importlib.import_module(f"{__package__}.sections.{name}")
        module.run(ctx)
    except Skipped as exc:
        status = "skip"
        ctx.note(str(exc))
    except Exception:
        status, error = "error", traceback.format_exc(limit=12)
        print(error, file=sys.stderr, flush=True)
    finally:
        _tidy()
    conn.send(("done", status, error, ctx.elapsed()))


def _tidy() -> None:
    """Between sections: drop what the last one left on the device, so the next measures from zero."""
    import gc

    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _redirect_output(log: Path) -> None:
    handle = open(log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(handle.fileno(), 1)
    os.dup2(handle.fileno(), 2)
    sys.stdout = sys.stderr = handle
    logging.basicConfig(level=logging.INFO, stream=handle, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        force=True)


def _warm_imports(options: dict[str, Any]) -> dict[str, Any]:
    """torch, diffusers and transformers, imported before the first section's clock starts; the device
    resolved ("auto" becomes cuda when there is one); CPU threads set. Not for the supervisor's self-tests."""
    if not options.get("warm", True):
        return {}
    import torch

    if options.get("threads"):
        torch.set_num_threads(int(options["threads"]))
    if options["device"] == "auto":
        options["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    if options["device"].startswith("cuda"):
        torch.cuda.init()
    for name in ("diffusers", "transformers", "inkgraph.engine.runtime"):
        importlib.import_module(name)
    return {"device": options["device"], "torch_threads": torch.get_num_threads()}


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths, abstract sockets
        return True
    host = str(address[0])
    return host in _LOCAL_HOSTS or host.startswith("127.") or host == "::ffff:127.0.0.1"


def _guard_network() -> None:
    """Refuse (and record) every connection to anything but this machine, as a machine with no network
    would; libraries see an ordinary OSError. Loopback stays open for the server and Ray sections."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def refuse(what: str) -> OSError:
        stack = traceback.extract_stack(limit=8)[:-2]
        caller = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(stack)
                       if "gpucheck" not in f.filename and "socket.py" not in f.filename), "?")
        NETWORK_ATTEMPTS.append(f"{what} (from {caller})")
        log = os.environ.get("INKGRAPH_GPU_CHECK_NETLOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{what} (from {caller})\n")
        return OSError(errno.ENETUNREACH, f"network access refused by the GPU check: {what}")

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_local(address):
            raise refuse(f"connect to {address}")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_local(address):
            refuse(f"connect to {address}")
            return errno.ENETUNREACH
        return original_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else host
        if text not in _LOCAL_HOSTS and not _is_numeric(text) and text != socket.gethostname():
            raise refuse(f"name lookup of {text}")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo


def _is_numeric(host: Any) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        return False
    return True

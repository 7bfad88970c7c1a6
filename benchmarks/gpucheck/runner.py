"""The supervisor: runs each section in a worker process and cuts it when it overruns its budget.

Why a process: a hard time limit must stop anything — a Triton compile, a CUDA kernel that never returns,
a deadlock in a library — and only killing the process does that (a thread cannot be stopped from
outside, and an alarm signal waits for the C call to return). One worker runs the sections one after
another, so torch is imported once; a section that overruns, crashes or leaves a CUDA error behind costs
that worker, and the next section starts in a fresh one. The worker streams every check and figure as it
records it, so a section cut short still reports what it had done.

This process never imports torch and never touches the GPU: it cannot hang on it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .plan import BY_NAME, CPU_QUICK_EXCLUDED, STARTUP_BUDGET_S, Section
from .report import Report, SectionResult

# An error that leaves the CUDA context unusable for the rest of the process: start a new worker.
POISONING = ("CUDA error", "cuDNN error", "CUBLAS_STATUS", "device-side assert", "illegal memory access",
             "out of memory")


@dataclass
class Options:
    """What every section is told (sent to the worker as a plain dict)."""

    device: str
    quick: bool
    work: Path
    out: Path
    threads: int | None = None
    warm: bool = True  # import torch and the model libraries when a worker starts
    startup_s: float = STARTUP_BUDGET_S  # the time limit of one worker start

    def as_dict(self) -> dict[str, Any]:
        return {"device": self.device, "quick": self.quick, "work": str(self.work), "out": str(self.out),
                "threads": self.threads, "warm": self.warm}


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, options: Options) -> None:
        from . import worker as worker_module

        context = multiprocessing.get_context("spawn")  # never fork a process that may hold CUDA
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_module.serve, args=(child, options.as_dict()),
                                       name="gpu-check-worker", daemon=True)
        started = time.monotonic()
        self.process.start()
        child.close()
        self.info: dict[str, Any] = {}
        message = self._receive(started + options.startup_s)
        if message is None or message[0] != "ready":
            self.kill()
            why = "did not start in time" if message is None else f"failed to start: {message[1:]}"
            raise RuntimeError(f"the worker process {why}")
        self.info = message[1]
        self.startup_s = time.monotonic() - started

    def _receive(self, deadline: float) -> tuple[Any, ...] | None:
        """The next message, None at the deadline; ("crash", exitcode) when the process died."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                if self.conn.poll(min(left, 0.5)):
                    message: tuple[Any, ...] = self.conn.recv()
                    return message
            except (EOFError, OSError):
                self.process.join(2)
                return ("crash", self.process.exitcode)
            if not self.process.is_alive():
                if self.conn.poll(0):
                    continue
                return ("crash", self.process.exitcode)

    def run(self, section: Section, result: SectionResult, budget: float) -> bool:
        """Run one section within ``budget`` seconds; returns whether this worker can run another."""
        started = time.monotonic()
        deadline = started + budget
        self.conn.send(("run", section.name, budget))
        while True:
            message = self._receive(deadline)
            if message is None:
                result.seconds = time.monotonic() - started
                result.settle("timeout", f"cut at its budget of {budget:.0f} s; the checks above are those it had "
                                         "finished")
                self.kill()
                return False
            kind = message[0]
            if kind == "record":
                result.add(message[1], message[2])
            elif kind == "done":
                _, status, error, seconds = message
                result.seconds = seconds
                result.settle(status, error)
                return not (error and any(marker in error for marker in POISONING))
            elif kind == "crash":
                result.seconds = time.monotonic() - started
                result.settle("crash", f"the worker process died (exit code {message[1]}) while running it")
                return False

    def stop(self) -> None:
        try:
            self.conn.send(("stop",))
        except (OSError, BrokenPipeError):
            pass
        self.process.join(10)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(3)
        self.conn.close()


def run_sections(names: list[str], options: Options, report: Report, deadline_s: float,
                 budgets: dict[str, float], echo: Any = print, explicit: frozenset[str] = frozenset()) -> Report:
    """Run ``names`` in order within ``deadline_s`` overall, writing the report after each one. Sections not
    meant for the CPU's quick mode are skipped there unless named in ``explicit``."""
    started = time.monotonic()
    worker: Worker | None = None
    total = len(names)
    try:
        for index, name in enumerate(names, 1):
            section = BY_NAME[name]
            result = SectionResult(section.name, section.title)
            report.sections.append(result)
            budget = budgets.get(name, section.budget(options.quick))
            left = deadline_s - (time.monotonic() - started)
            if worker is None:
                left -= options.startup_s
            if options.quick and options.device == "cpu" and not section.cpu_quick and name not in explicit:
                result.budget_s = budget
                result.settle("skip", None)
                result.notes.append(CPU_QUICK_EXCLUDED)
            elif left < min(5.0, budget):
                result.budget_s = budget
                result.settle("skip", None)
                result.notes.append(f"not started: the overall deadline of {deadline_s:.0f} s was reached")
            else:
                result.budget_s = budget = min(budget, left)
                if worker is None:
                    try:
                        worker = Worker(options)
                        options.device = report.device = worker.info.get("device", options.device)
                        if not report.environment.get("worker"):
                            report.environment["worker"] = f"started in {worker.startup_s:.1f} s"
                    except RuntimeError as exc:
                        result.settle("crash", str(exc))
                        worker = None
                if worker is not None and not worker.run(section, result, budget):
                    worker.kill()
                    worker = None
                if name == "env":
                    report.environment.update(_environment_summary(result))
            report.seconds = time.monotonic() - started
            report.write(options.out)
            echo(_line(index, total, result))
    finally:
        if worker is not None:
            worker.stop()
    report.seconds = time.monotonic() - started
    report.finished = True
    report.write(options.out)
    return report


def _environment_summary(result: SectionResult) -> dict[str, Any]:
    """The env section's figures, lifted to the top of the report."""
    return {m.name: m.value if m.unit == "" else f"{m.value} {m.unit}" for m in result.metrics}


def _line(index: int, total: int, result: SectionResult) -> str:
    failed = [c.name for c in result.checks if c.ok is False]
    tail = f"; failed: {', '.join(failed[:4])}{' …' if len(failed) > 4 else ''}" if failed else ""
    why = ""
    if result.status == "skip" and result.notes:
        why = f" — {result.notes[-1]}"
    elif result.status in ("error", "crash", "timeout") and result.error:
        why = f" — {result.error.strip().splitlines()[-1][:160]}"
    checks = sum(1 for c in result.checks if c.ok is not None)
    return (f"[{index:2d}/{total}] {result.name:<12} {result.status:<7} {result.seconds:6.1f} s of "
            f"{result.budget_s:4.0f} s  {checks} checks{tail}{why}")


def work_dir(requested: Path | None, need_gb: float) -> Path:
    """Scratch space for random-weight model files: a RAM disk when it has room (writing 7 GB there takes
    seconds, to a slow virtual disk a minute), else the system's temporary folder."""
    import shutil
    import tempfile

    if requested is not None:
        requested.mkdir(parents=True, exist_ok=True)
        return requested
    for root in (Path("/dev/shm"), Path(tempfile.gettempdir())):
        try:
            if root.is_dir() and shutil.disk_usage(root).free > need_gb * 2**30:
                return Path(tempfile.mkdtemp(prefix="inkgraph-gpu-check-", dir=root))
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="inkgraph-gpu-check-"))

"""``inkgraph run``'s executor thread and what Ctrl+C does to it.

The prompt runs in a worker thread so the main thread stays free to receive SIGINT. The first Ctrl+C asks
the executor to stop (cooperatively: the running node stops at its next progress or interruption check,
and everything already written stays); the second one abandons the run at once.

Two traps this module avoids, both seen as a crash on Ctrl+C:

- Waiting with ``Thread.join()``: on Python < 3.13 a KeyboardInterrupt that lands inside ``join`` marks a
  still-running thread as finished (it releases the thread's state lock on its behalf), so ``join``
  returns early and the caller finds no outcome. The main thread here waits on a :class:`Future` the worker
  always completes, and SIGINT is handled by a handler that only sets a flag until the second press.
- Leaving through ordinary interpreter teardown while the worker is still inside torch: torch's thread
  pools are destroyed under it ("terminate called without an active exception", exit 134). An abandoned
  run returns to :func:`inkgraph.engine.cli.entry`, which leaves with ``os._exit`` after flushing.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent.futures import Future
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.executor import ExecutionOutcome, Executor
    from ..core.validation import Plan


class Abandoned(Exception):
    """The second Ctrl+C: stop waiting for the executor."""


def run_interruptibly(executor: Executor, plan: Plan, extra_data: dict[str, Any]) -> ExecutionOutcome | None:
    """Run ``plan``; the outcome, or None when a second Ctrl+C abandoned the run before it stopped."""
    done: Future[ExecutionOutcome] = Future()
    ended = threading.Event()

    def work() -> None:
        try:
            done.set_result(executor.execute(plan, extra_data=extra_data))
        except BaseException as exc:  # the waiting thread must hear about every ending
            done.set_exception(exc)
        finally:
            ended.set()

    presses = 0

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        if ended.is_set():
            return
        presses += 1
        if presses > 1:
            raise Abandoned
        executor.interrupt()
        sys.stderr.write("\ninterrupting… (Ctrl+C again to quit at once)\n")
        sys.stderr.flush()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
    try:
        threading.Thread(target=work, daemon=True, name="inkgraph-executor").start()
        while not ended.wait(0.25):  # short waits: the handler runs between them
            if presses:  # a press before the run had started was cleared by its start: ask again
                executor.interrupt()
    except Abandoned:
        return None
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    return done.result()

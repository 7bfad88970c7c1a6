"""The prompt queue and history, persisted in SQLite so nothing a user queued is lost.

Every change is committed before it is acknowledged (WAL journal, synchronous=NORMAL: a committed
transaction survives the process being killed). On start, pending prompts are loaded back in their
order, and a prompt that was running when the process died is moved to history as failed, with a
reason. ComfyUI keeps both in memory and loses them on every restart.

Order is ComfyUI's: the smallest ``number`` first, ties broken by prompt id. Secrets a client sent
(``auth_token_comfy_org``, ``api_key_comfy_org``) are kept in memory only, never written to disk.
"""

from __future__ import annotations

import heapq
import logging
import math
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import jsonsafe

log = logging.getLogger(__name__)

MAX_HISTORY = 10_000
SCHEMA_VERSION = 1  # 1: every stored row reads back, and parses in a browser (issue 15)
SENSITIVE_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")
STOPPED_MESSAGE = ("The server stopped while this prompt was running (it crashed or was killed); "
                   "the prompt was not run to the end. Queue it again to retry.")
UNREADABLE_MESSAGE = ("This entry could not be read back ({reason}). It was stored before the server bounded "
                      "what it keeps, or the database was changed by hand; its prompt and outputs are lost.")


@dataclass(slots=True)
class QueueItem:
    """One queued prompt; ``as_list()`` is ComfyUI's 5-element queue item."""

    number: float
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs_to_execute: list[str]
    sensitive: dict[str, Any] = field(default_factory=dict)

    def as_list(self) -> list[Any]:
        return [as_number(self.number), self.prompt_id, self.prompt, self.extra_data, self.outputs_to_execute]

    def sort_key(self) -> tuple[float, str]:
        return (self.number, self.prompt_id)


def as_number(value: float) -> int | float:
    """Numbers travel as ints when they are whole, as ComfyUI's clients expect (``"number": 3``)."""
    return int(value) if float(value).is_integer() else value


class PromptQueue:
    """Thread-safe persistent queue. The server thread puts; the worker thread gets and completes."""

    def __init__(self, path: Path, max_history: int = MAX_HISTORY) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_history = max_history
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS queue (
                prompt_id TEXT PRIMARY KEY, number REAL NOT NULL, item TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending', started_at INTEGER);
            CREATE TABLE IF NOT EXISTS history (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, prompt_id TEXT UNIQUE NOT NULL, entry TEXT NOT NULL);
            """
        )
        self._lock = threading.RLock()
        self._not_empty = threading.Condition(self._lock)
        self._pending: dict[str, QueueItem] = {}
        self._heap: list[tuple[float, str]] = []
        self._running: dict[int, QueueItem] = {}
        self._task_counter = 0
        self.flags: dict[str, Any] = {}
        self.listeners: list[Any] = []  # called with no arguments after every queue change
        self._migrate()
        self.recovered_failures = self._recover()

    # -- persistence ------------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Once per database: rewrite rows stored before every value was bounded (nested ~1,000 deep,
        ``Infinity``), so that reading them can never fail again. Rows written since need no check."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        with self._lock:
            for prompt_id, raw in self._db.execute("SELECT prompt_id, entry FROM history").fetchall():
                fixed = _checked_row(raw)
                if fixed != raw:
                    log.warning("history entry %s was rewritten to be readable", prompt_id)
                    fixed = fixed or jsonsafe.stored(_unreadable_entry(prompt_id, "damaged or nested too deeply"))
                    self._db.execute("UPDATE history SET entry = ? WHERE prompt_id = ?", (fixed, prompt_id))
            rows = self._db.execute("SELECT prompt_id, number, item FROM queue ORDER BY prompt_id").fetchall()
            last = max((n for _, n, _ in rows if isinstance(n, float) and math.isfinite(n)), default=0.0)
            for prompt_id, number, raw in rows:
                fixed = _checked_row(raw)
                finite = isinstance(number, (int, float)) and math.isfinite(number)
                if finite and fixed == raw:
                    continue
                record = jsonsafe.stored_loads(fixed) if fixed is not None else None
                if not isinstance(record, dict):  # it cannot run: its history says so
                    self._db.execute("DELETE FROM queue WHERE prompt_id = ?", (prompt_id,))
                    self._db.execute("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)",
                                     (prompt_id, jsonsafe.stored(_unreadable_entry(prompt_id, "damaged"))))
                    continue
                if not finite:  # a priority of ±Infinity or NaN: queued after everything else, in FIFO order
                    last += 1
                    record["number"] = number = last
                    log.warning("queued prompt %s had no finite priority; it now runs after the others", prompt_id)
                self._db.execute("UPDATE queue SET number = ?, item = ? WHERE prompt_id = ?",
                                 (number, jsonsafe.stored(record), prompt_id))
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _recover(self) -> list[str]:
        """Load pending prompts; turn prompts that were running into failed history entries."""
        failed = []
        with self._lock:
            rows = self._db.execute("SELECT prompt_id, item, state, started_at FROM queue").fetchall()
            for prompt_id, raw, state, started_at in rows:
                try:
                    item = QueueItem(**jsonsafe.stored_loads(raw))
                    if not (isinstance(item.number, (int, float)) and math.isfinite(item.number)):
                        raise ValueError("its priority is not a finite number")
                except (ValueError, TypeError, RecursionError) as exc:  # changed by hand: never fatal
                    log.error("queued prompt %s cannot be read back (%s); recorded as failed", prompt_id, exc)
                    self._db.execute("DELETE FROM queue WHERE prompt_id = ?", (prompt_id,))
                    self._db.execute("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)",
                                     (prompt_id, jsonsafe.stored(_unreadable_entry(prompt_id, str(exc)))))
                    continue
                if state == "running":
                    self._write_history(item, {}, _stopped_status(prompt_id, started_at), {})
                    self._db.execute("DELETE FROM queue WHERE prompt_id = ?", (prompt_id,))
                    failed.append(prompt_id)
                else:
                    self._pending[prompt_id] = item
                    heapq.heappush(self._heap, item.sort_key())
        return failed

    def _write_history(self, item: QueueItem, outputs: dict[str, Any], status: dict[str, Any],
                       meta: dict[str, Any]) -> None:
        entry = {"prompt": item.as_list(), "outputs": outputs, "status": status, "meta": meta}
        self._db.execute("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)",
                         (item.prompt_id, jsonsafe.stored(entry, f"history entry {item.prompt_id}")))
        self._db.execute("DELETE FROM history WHERE seq <= (SELECT seq FROM history ORDER BY seq DESC "
                         "LIMIT 1 OFFSET ?)", (self.max_history,))

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- queue --------------------------------------------------------------------------------------
    def next_number(self) -> float:
        """One more than any number queued so far (ComfyUI's counter, continued across restarts)."""
        with self._lock:
            numbers = [i.number for i in self._pending.values()] + [i.number for i in self._running.values()]
            return max([n for n in numbers if 0 <= n < math.inf], default=-1) + 1

    def put(self, item: QueueItem) -> None:
        record = {"number": item.number, "prompt_id": item.prompt_id, "prompt": item.prompt,
                  "extra_data": item.extra_data, "outputs_to_execute": item.outputs_to_execute}
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO queue (prompt_id, number, item) VALUES (?, ?, ?)",
                             (item.prompt_id, item.number, jsonsafe.stored(record, f"prompt {item.prompt_id}")))
            self._pending[item.prompt_id] = item
            heapq.heappush(self._heap, item.sort_key())
            self._not_empty.notify()
        self._changed()

    def get(self, timeout: float | None = None) -> tuple[int, QueueItem] | None:
        """The next prompt to run, marked running; None if the timeout passed first."""
        with self._not_empty:
            for attempt in range(2):  # look, wait once (put, wake, flags or timeout), look again
                while self._heap and self._heap[0][1] not in self._pending:
                    heapq.heappop(self._heap)  # deleted while waiting
                if self._heap:
                    break
                if attempt == 1 or self.flags:
                    return None
                self._not_empty.wait(timeout)
            _, prompt_id = heapq.heappop(self._heap)
            item = self._pending.pop(prompt_id)
            self._db.execute("UPDATE queue SET state = 'running', started_at = ? WHERE prompt_id = ?",
                             (int(time.time() * 1000), prompt_id))
            task_id = self._task_counter
            self._task_counter += 1
            self._running[task_id] = item
        self._changed()
        return task_id, item

    def task_done(self, task_id: int, outputs: dict[str, Any], status: dict[str, Any],
                  meta: dict[str, Any]) -> None:
        """Move a finished prompt to history (one transaction: it is never in both or neither)."""
        with self._lock:
            item = self._running.pop(task_id)
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM queue WHERE prompt_id = ?", (item.prompt_id,))
                self._write_history(item, outputs, status, meta)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._changed()

    def requeue(self, task_id: int) -> None:
        """Put a running prompt back at its place in the queue (its worker was lost before it finished)."""
        with self._lock:
            item = self._running.pop(task_id)
            self._db.execute("UPDATE queue SET state = 'pending', started_at = NULL WHERE prompt_id = ?",
                             (item.prompt_id,))
            self._pending[item.prompt_id] = item
            heapq.heappush(self._heap, item.sort_key())
            self._not_empty.notify()
        self._changed()

    def running(self) -> list[QueueItem]:
        with self._lock:
            return list(self._running.values())

    def pending(self) -> list[QueueItem]:
        """Pending prompts in the order they will run."""
        with self._lock:
            return sorted(self._pending.values(), key=QueueItem.sort_key)

    def tasks_remaining(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._running)

    def wipe(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM queue WHERE state = 'pending'")
            self._pending.clear()
            self._heap.clear()
        self._changed()

    def delete(self, prompt_id: str) -> bool:
        """Remove a pending prompt; running prompts are not touched (as ComfyUI)."""
        with self._lock:
            if prompt_id not in self._pending:
                return False
            del self._pending[prompt_id]
            self._db.execute("DELETE FROM queue WHERE prompt_id = ? AND state = 'pending'", (prompt_id,))
        self._changed()
        return True

    # -- history ------------------------------------------------------------------------------------
    def history(self, prompt_id: str | None = None, max_items: int | None = None,
                offset: int = -1) -> dict[str, Any]:
        """ComfyUI's get_history: oldest → newest; a negative offset with max_items means the last N."""
        with self._lock:
            if prompt_id is not None:
                row = self._db.execute("SELECT entry FROM history WHERE prompt_id = ?", (prompt_id,)).fetchone()
                return {prompt_id: _read_entry(prompt_id, row[0])} if row else {}
            if offset < 0 and max_items is not None:
                total = self._db.execute("SELECT COUNT(*) FROM history").fetchone()[0]
                offset = max(0, total - max_items)
            offset = max(offset, 0)
            limit = -1 if max_items is None else max_items
            rows = self._db.execute("SELECT prompt_id, entry FROM history ORDER BY seq LIMIT ? OFFSET ?",
                                    (limit, offset)).fetchall()
        return {pid: _read_entry(pid, entry) for pid, entry in rows}

    def history_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM history").fetchone()[0])

    def delete_history(self, prompt_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM history WHERE prompt_id = ?", (prompt_id,))

    def wipe_history(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM history")

    # -- flags (POST /free) -------------------------------------------------------------------------
    def set_flag(self, name: str, value: Any) -> None:
        with self._lock:
            self.flags[name] = value
            self._not_empty.notify()

    def wake(self) -> None:
        """Wake a worker waiting in get() (it returns None if nothing is queued)."""
        with self._lock:
            self._not_empty.notify_all()

    def take_flags(self) -> dict[str, Any]:
        with self._lock:
            flags, self.flags = self.flags, {}
            return flags


def _error_status(prompt_id: str, message: str, exception_type: str, started_at: int | None = None
                  ) -> dict[str, Any]:
    now = int(time.time() * 1000)
    messages: list[Any] = []
    if started_at:
        messages.append(["execution_start", {"prompt_id": prompt_id, "timestamp": started_at}])
    messages.append(["execution_error", {
        "prompt_id": prompt_id, "node_id": "", "node_type": "", "executed": [],
        "exception_message": message, "exception_type": exception_type, "traceback": [],
        "current_inputs": {}, "current_outputs": [], "timestamp": now}])
    return {"status_str": "error", "completed": False, "messages": messages}


def _stopped_status(prompt_id: str, started_at: int | None) -> dict[str, Any]:
    return _error_status(prompt_id, STOPPED_MESSAGE, "ServerStopped", started_at)


def _unreadable_entry(prompt_id: str, reason: str) -> dict[str, Any]:
    """What a history row that cannot be read shows: a failed prompt that says why (never a 500)."""
    return {"prompt": [0, prompt_id, {}, {}, []], "outputs": {}, "meta": {},
            "status": _error_status(prompt_id, UNREADABLE_MESSAGE.format(reason=reason), "UnreadableEntry")}


def _read_entry(prompt_id: str, raw: str) -> dict[str, Any]:
    """One history row, or its placeholder: reading the history never fails because of one entry."""
    try:
        entry = jsonsafe.stored_loads(raw)
    except RecursionError:
        return _unreadable_entry(prompt_id, "nested too deeply")
    except ValueError as exc:
        return _unreadable_entry(prompt_id, f"not JSON: {exc}")
    prompt = entry.get("prompt") if isinstance(entry, dict) else None
    if not isinstance(prompt, list) or len(prompt) != 5:
        return _unreadable_entry(prompt_id, "not a history entry")
    return dict(entry)


def _checked_row(raw: str) -> str | None:
    """``raw`` if it reads back within the bounds, a rewritten copy if it can be made to, None if it cannot
    be read at all."""
    try:
        value = jsonsafe.stored_loads(raw)
    except (ValueError, RecursionError):
        return None
    if jsonsafe.problem(value, jsonsafe.STORED_DEPTH) is None and "Infinity" not in raw and "NaN" not in raw:
        return raw
    return jsonsafe.stored(value)


def split_sensitive(extra_data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move secrets out of extra_data (they are passed to nodes, never stored or echoed)."""
    public = {k: v for k, v in extra_data.items() if k not in SENSITIVE_KEYS}
    secret = {k: v for k, v in extra_data.items() if k in SENSITIVE_KEYS}
    return public, secret



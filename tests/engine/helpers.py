"""A stub-node runtime that records every event, for engine tests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from inkgraph.engine.core.cache import CachePolicyName
from inkgraph.engine.core.events import Event
from inkgraph.engine.core.executor import ExecutionOutcome
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.core.validation import ValidationResult
from inkgraph.engine.runtime import Runtime

from .stub_nodes import LOG, stub_registry


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event, target: str | None) -> None:
        with self.lock:
            self.events.append(event)

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of(self, type_: str) -> list[Any]:
        return [e for e in self.events if e.type == type_]

    def clear(self) -> None:
        self.events.clear()


class StubEngine:
    def __init__(self, base: Path, cache: CachePolicyName = "lru", budget: int = 1 << 30) -> None:
        settings = Settings(base_dir=base, cache=cache, cache_budget_bytes=budget)
        self.runtime = Runtime.create(settings, registry=stub_registry())
        self.recorder = Recorder()
        self.runtime.bus.subscribe(self.recorder)
        LOG.take()

    def validate(self, prompt: dict[str, Any], **kw: Any) -> ValidationResult:
        return self.runtime.validate(prompt, **kw)

    def run(self, prompt: dict[str, Any], **kw: Any) -> tuple[ExecutionOutcome, list[str]]:
        """Run a valid prompt; returns the outcome and the node ids whose code ran, in order."""
        self.recorder.clear()
        result, outcome = self.runtime.run(prompt, **kw)
        assert result.ok, result.error_body()
        assert outcome is not None
        return outcome, LOG.take()

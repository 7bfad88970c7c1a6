"""Wiring: one registry, one folder layout, one cache, one executor, one event bus.

The CLI, the server and (later) remote workers all build their engine here, so a setting such as the
cache policy means the same thing everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import DEFAULT_RAM_BUDGET, CachePolicyName, make_cache
from .devices import DeviceSettings, ModelManager
from .events import EventBus
from .executor import ExecutionOutcome, Executor
from .paths import Folders
from .registry import NodeRegistry
from .validation import ValidationResult, validate_prompt


@dataclass
class Runtime:
    registry: NodeRegistry
    folders: Folders
    bus: EventBus
    executor: Executor

    @property
    def models(self) -> ModelManager:
        return self.executor.models

    @classmethod
    def create(
        cls,
        base_dir: str | os.PathLike[str] | None = None,
        *,
        cache: CachePolicyName = "lru",
        cache_budget_bytes: int = DEFAULT_RAM_BUDGET,
        registry: NodeRegistry | None = None,
        device: str | None = None,
        dtype: str | None = None,
        vram: str = "normal",
        extra_model_paths: list[Path] | None = None,
        custom_nodes: bool = True,
        whitelist_custom_nodes: list[str] | None = None,
    ) -> Runtime:
        """An engine on the folders under ``base_dir``. ``custom_nodes=False`` loads no node packs except
        those named in ``whitelist_custom_nodes`` (ComfyUI's --disable-all-custom-nodes)."""
        folders = Folders.at(base_dir, extra_model_paths).ensure()
        bus = EventBus()
        models = ModelManager(DeviceSettings(device=device, dtype=dtype, mode=vram))
        executor = Executor(make_cache(cache, cache_budget_bytes), bus, folders, models)
        if registry is None:
            registry = NodeRegistry.default(custom_nodes=folders.custom_node_dirs(), enabled=custom_nodes,
                                            whitelist=whitelist_custom_nodes or (), folders=folders)
        return cls(registry=registry, folders=folders, bus=bus, executor=executor)

    def validate(self, prompt: Any, partial_execution_targets: list[str] | None = None) -> ValidationResult:
        return validate_prompt(prompt, self.registry, self.folders, partial_execution_targets)

    def run(self, prompt: Any, prompt_id: str | None = None, extra_data: dict[str, Any] | None = None,
            client_id: str | None = None) -> tuple[ValidationResult, ExecutionOutcome | None]:
        """Validate then execute (in the calling thread). The outcome is None when validation failed."""
        result = self.validate(prompt)
        if not result.ok or result.plan is None:
            return result, None
        return result, self.executor.execute(result.plan, prompt_id, extra_data, client_id)

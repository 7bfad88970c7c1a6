"""Wiring: one registry, one folder layout, one cache, one executor, one event bus.

The CLI, the server and Ray workers all build their engine here from one :class:`Settings`, so a setting
such as the cache policy means the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.cache import make_cache
from ..core.devices import DeviceSettings, ModelManager
from ..core.events import EventBus
from ..core.executor import ExecutionOutcome, Executor
from ..core.paths import Folders
from ..core.registry import NodeRegistry
from ..core.settings import Settings
from ..core.validation import ValidationResult, validate_prompt
from .packs import default_registry


@dataclass
class Runtime:
    registry: NodeRegistry
    folders: Folders
    bus: EventBus
    executor: Executor
    settings: Settings

    @property
    def models(self) -> ModelManager:
        return self.executor.models

    @classmethod
    def create(cls, settings: Settings | None = None, *, registry: NodeRegistry | None = None) -> Runtime:
        """An engine configured by ``settings``; ``registry`` replaces the node packs it would load."""
        settings = settings or Settings()
        folders = Folders.at(settings.base_dir, list(settings.extra_model_paths), input=settings.input_dir,
                             output=settings.output_dir, temp=settings.temp_dir, user=settings.user_dir).ensure()
        bus = EventBus()
        models = ModelManager(DeviceSettings(device=settings.device, dtype=settings.dtype, mode=settings.vram))
        executor = Executor(make_cache(settings.cache, settings.cache_budget_bytes, settings.cache_entries), bus,
                            folders, models)
        if registry is None:
            registry = default_registry(custom_nodes=folders.custom_node_dirs(), enabled=settings.custom_nodes,
                                        whitelist=settings.whitelist_custom_nodes, folders=folders,
                                        api_nodes=settings.api_nodes)
        return cls(registry=registry, folders=folders, bus=bus, executor=executor, settings=settings)

    def validate(self, prompt: Any, partial_execution_targets: list[str] | None = None) -> ValidationResult:
        return validate_prompt(prompt, self.registry, self.folders, partial_execution_targets,
                               self.settings.max_batch_pixels)

    def run(self, prompt: Any, prompt_id: str | None = None, extra_data: dict[str, Any] | None = None,
            client_id: str | None = None) -> tuple[ValidationResult, ExecutionOutcome | None]:
        """Validate then execute (in the calling thread). The outcome is None when validation failed."""
        result = self.validate(prompt)
        if not result.ok or result.plan is None:
            return result, None
        return result, self.executor.execute(result.plan, prompt_id, extra_data, client_id)

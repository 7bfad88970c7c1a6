"""The node registry: which node types exist, where each came from, and how each pack loaded.

Packs are registered explicitly (a pack exposes its node list; nothing registers itself on import). This
module is only the container; finding packs (the built-in ``inkgraph.nodes``, entry points, ``custom_nodes``
folders, ComfyUI packs) is :mod:`inkgraph.engine.runtime.packs`. A pack that fails is reported and skipped,
never fatal, and no pack may replace a built-in node.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .api import spec_of
from .spec import NodeSpec, SpecError, check_spec

log = logging.getLogger(__name__)

BUILTIN_PACK = "nodes"
KIND_LABELS = {"native": "native", "comfyui-v1": "ComfyUI V1", "comfyui-v3": "ComfyUI V3"}


class PackStatus(BaseModel):
    """How one node pack loaded: shown by the CLI and the server's pack-status route."""

    name: str
    source: str
    loaded: bool
    node_count: int = 0
    load_seconds: float = 0.0
    error: str | None = None
    skipped_nodes: list[str] = []
    kind: str = "native"  # "native", "comfyui-v1" or "comfyui-v3"
    web_directory: str | None = None


def failure_summary(exc: BaseException) -> str:
    """One line saying why an import failed: the missing module, or the exception and the line raising it."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        what = f"missing module {exc.name!r}"
    else:
        what = " ".join("".join(traceback.format_exception_only(exc)).split())
    frames = traceback.extract_tb(exc.__traceback__)
    inner = [f for f in frames if "importlib" not in f.filename]
    if inner:
        what += f" (at {inner[-1].filename}:{inner[-1].lineno})"
    return what


def as_spec(item: Any) -> NodeSpec:
    """A pack lists NodeSpecs or decorated node functions/classes; both are accepted."""
    return item if isinstance(item, NodeSpec) else spec_of(item)


class NodeRegistry:
    """class_type → NodeSpec, with the origin of each node and the status of each pack."""

    def __init__(self) -> None:
        self._specs: dict[str, NodeSpec] = {}
        self._pack_of: dict[str, str] = {}
        self.packs: dict[str, PackStatus] = {}

    def __contains__(self, class_type: object) -> bool:
        return class_type in self._specs

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, class_type: str) -> NodeSpec | None:
        return self._specs.get(class_type)

    def pack_of(self, class_type: str) -> str | None:
        return self._pack_of.get(class_type)

    def register(self, spec: NodeSpec, pack: str = BUILTIN_PACK) -> None:
        """Add one node. Built-ins cannot be replaced; between other packs the later one wins."""
        check_spec(spec)
        previous = self._pack_of.get(spec.class_type)
        if previous == BUILTIN_PACK and pack != BUILTIN_PACK:
            raise SpecError(f"{spec.class_type!r} is a built-in node; pack {pack!r} cannot replace it")
        if previous is not None:
            if previous == pack:
                raise SpecError(f"{spec.class_type!r} is declared twice in pack {pack!r}")
            log.warning("node %r from pack %r replaces the one from %r", spec.class_type, pack, previous)
        self._specs[spec.class_type] = spec
        self._pack_of[spec.class_type] = pack

    def load_pack(self, name: str, source: str, load: Callable[[], Iterable[Any]], kind: str = "native"
                  ) -> PackStatus:
        """Import a pack through ``load`` and register its nodes; failures become a PackStatus.

        A pack that fails is one log line at ERROR (pack, kind, the missing module or the exception and where
        it was raised) and its traceback at DEBUG: a server with forty packs must stay readable. A node that
        fails its checks is skipped with a reason; the rest of its pack still loads.
        """
        start = time.perf_counter()
        try:
            items = list(load())
        except Exception as exc:
            status = PackStatus(name=name, source=source, loaded=False, kind=kind,
                                load_seconds=time.perf_counter() - start,
                                error="".join(traceback.format_exception_only(exc)).strip())
            log.error("node pack %r (%s) failed to load: %s", name, KIND_LABELS.get(kind, kind),
                      failure_summary(exc))
            log.debug("node pack %r failed to load:\n%s", name, traceback.format_exc())
            self.packs[name] = status
            return status
        count = 0
        skipped: list[str] = []
        for item in items:
            try:
                spec = as_spec(item)
                if name != BUILTIN_PACK and spec.python_module == BUILTIN_PACK:
                    spec = spec.model_copy(update={"python_module": f"custom_nodes.{name}"})
                self.register(spec, pack=name)
                count += 1
            except SpecError as exc:
                skipped.append(str(exc))
                log.error("node pack %r: %s", name, exc)
        status = PackStatus(name=name, source=source, loaded=True, node_count=count, kind=kind,
                            load_seconds=time.perf_counter() - start, skipped_nodes=skipped)
        self.packs[name] = status
        return status

    def web_directories(self) -> dict[str, Path]:
        """Pack name → the folder its front-end extension files are served from (``/extensions/<pack>/``)."""
        return {name: Path(status.web_directory) for name, status in self.packs.items()
                if status.loaded and status.web_directory}

"""Stand-ins for the parts of ComfyUI that Inkgraph does not provide (yet).

A ComfyUI pack imports dozens of ComfyUI's modules at load time (``comfy.ldm.flux.math``,
``comfy.samplers``, ``comfy_extras.nodes_custom_sampler`` …) although most of its nodes never touch them. If
such an import failed, every node of the pack would be lost for the sake of one. So every module ComfyUI has
(:mod:`.comfy_names`) imports while packs load; a name Inkgraph does not implement is a *stand-in*: a class
named after the ComfyUI function it stands for, which can be imported, subclassed, compared and stored, but
raises :class:`Unavailable` (naming that function) when a node calls it, iterates it or indexes it. A
module or name ComfyUI itself does not have still fails to import, so a pack's ``try: import … except
ImportError`` fallbacks take the same branch they would take under ComfyUI.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

from .comfy_names import MODULES, NAMES, PACKAGES


class Unavailable(NotImplementedError):
    """A node called a part of ComfyUI that Inkgraph does not provide."""


class UnavailableAttribute(Unavailable, AttributeError):
    """An attribute of a facade (``ModelPatcher.x``) that Inkgraph does not provide: an AttributeError too, so
    a pack's ``hasattr(model, "x")`` / ``getattr(model, "x", None)`` takes the branch it takes for an older
    ComfyUI, and a node that reads it fails with the message."""


def _fail(name: str, what: str = "called") -> NoReturn:
    raise Unavailable(f"ComfyUI's {name} is not available in Inkgraph yet (a node {what} it); the node pack "
                      f"that uses it needs ComfyUI's own implementation")


class _StandInMeta(type):
    """The type of a stand-in: attributes are deeper stand-ins; calling, iterating and indexing raise."""

    __comfy_name__: str

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return stand_in(f"{cls.__comfy_name__}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("__inkgraph_stand_in__"):
            _fail(cls.__comfy_name__)
        return super().__call__(*args, **kwargs)  # a pack's subclass: its own __init__ decides

    def __iter__(cls) -> NoReturn:
        _fail(cls.__comfy_name__, "iterated over")

    def __len__(cls) -> int:
        _fail(cls.__comfy_name__, "took the length of")

    def __bool__(cls) -> bool:
        return True  # ``if comfy.x.y:`` at import time must not raise (a class is true)

    def __getitem__(cls, key: Any) -> NoReturn:
        _fail(cls.__comfy_name__, "indexed")

    def __contains__(cls, item: Any) -> bool:
        _fail(cls.__comfy_name__, "searched")

    def __repr__(cls) -> str:
        return f"<ComfyUI's {cls.__comfy_name__}, not available in Inkgraph>"

    def _operator(cls, *other: Any) -> NoReturn:
        _fail(cls.__comfy_name__, "computed with")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _operator
    __lt__ = __le__ = __gt__ = __ge__ = __neg__ = __int__ = __float__ = __index__ = _operator


_STAND_INS: dict[str, type] = {}


def stand_in(name: str) -> Any:
    """The stand-in for ComfyUI's ``name`` (``comfy.samplers.KSampler``); one object per name."""
    existing = _STAND_INS.get(name)
    if existing is not None:
        return existing

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        _fail(name)

    made = _StandInMeta(name.rpartition(".")[2], (), {
        "__comfy_name__": name, "__inkgraph_stand_in__": True, "__init__": __init__,
        "__module__": name.rpartition(".")[0], "__doc__": f"Stand-in for ComfyUI's {name} (not in Inkgraph yet)."})
    _STAND_INS[name] = made
    return made


def is_stand_in(obj: Any) -> bool:
    return isinstance(obj, _StandInMeta)


def comfy_attribute(module: str, name: str, provide: Callable[[str], Any] | None = None) -> Any:
    """A missing attribute of a module Inkgraph implements in part (``comfy.utils`` …): ``provide``'s answer,
    a submodule, a stand-in for a name ComfyUI's module has, else AttributeError as in ComfyUI."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    if provide is not None:
        found = provide(name)
        if found is not None:
            return found
    if f"{module}.{name}" in MODULES:
        return importlib.import_module(f"{module}.{name}")
    if name in NAMES.get(module, ()) or module not in NAMES:
        return stand_in(f"{module}.{name}")
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


class StubModule(ModuleType):
    """A ComfyUI module Inkgraph has no implementation of: every public name is a stand-in (node classes of
    ``comfy_extras`` modules answer with Inkgraph's built-in node of that name, when there is one)."""

    __inkgraph_stub__ = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        provide = _builtin_node if self.__name__.startswith("comfy_extras") else None
        return comfy_attribute(self.__name__, name, provide)


def _builtin_node(name: str) -> Any:
    """A built-in node as a ComfyUI class (``comfy_extras.nodes_mask.ImageCompositeMasked``), if there is one."""
    from . import STATE
    from .node_facades import builtin_classes

    if STATE.registry is None:
        return None
    return builtin_classes(STATE.registry).get(name)


class StubLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = StubModule(spec.name, f"ComfyUI's {spec.name} (stand-ins: not available in Inkgraph yet).")
        if spec.name in PACKAGES:
            module.__path__ = []
        return module

    def exec_module(self, module: ModuleType) -> None:
        return None


def stub_spec(fullname: str) -> importlib.machinery.ModuleSpec | None:
    """A spec that makes ComfyUI's module ``fullname`` import as a :class:`StubModule`; None for names
    ComfyUI does not have."""
    if fullname not in MODULES:
        return None
    package = fullname in PACKAGES
    spec = importlib.machinery.ModuleSpec(fullname, StubLoader(), is_package=package)
    if package:
        spec.submodule_search_locations = []
    return spec

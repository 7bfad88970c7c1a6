"""``comfy_api.internal``: the base classes the executor recognises V3 nodes and outputs by, and the class
helpers the V3 API is built on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ...stubs import comfy_attribute


class _ComfyNodeInternal:
    """What every V3 node class derives from (ComfyUI checks ``issubclass(cls, _ComfyNodeInternal)``)."""

    @classmethod
    def GET_NODE_INFO_V1(cls) -> dict[str, Any]:
        raise NotImplementedError


class _NodeOutputInternal:
    """What every V3 node output derives from."""


class ComfyAPIBase:
    """The base of each versioned ``ComfyAPI`` class; one instance per class, as ComfyUI's singletons."""

    _instances: dict[type, Any] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls not in ComfyAPIBase._instances:
            ComfyAPIBase._instances[cls] = super().__new__(cls)
        return ComfyAPIBase._instances[cls]


def prune_dict(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` without its None values (how every V3 option renders)."""
    return {k: v for k, v in d.items() if v is not None}


def as_pruned_dict(dataclass_obj: Any) -> dict[str, Any]:
    return prune_dict(asdict(dataclass_obj))


def is_class(obj: Any) -> bool:
    return isinstance(obj, type)


def copy_class(cls: type | None) -> type | None:
    """A subclass carrying a copy of ``cls``'s attributes (so that changing it leaves ``cls`` alone)."""
    if cls is None:
        return None
    attributes = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    copied = type(cls.__name__, (cls,), attributes)
    copied.__module__, copied.__doc__ = cls.__module__, cls.__doc__
    return copied


class classproperty:
    """A read-only property of the class itself."""

    def __init__(self, getter: Callable[[Any], Any]) -> None:
        self.getter = getter

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self.getter(owner)


def shallow_clone_class(cls: type, new_name: str | None = None) -> type:
    """A class with ``cls``'s attributes whose bases start with ``cls`` (``super()`` still works in it)."""
    return type(new_name or f"{cls.__name__}Clone", (cls, *cls.__bases__), dict(cls.__dict__))


def first_real_override(cls: type, name: str, *, base: type | None = None) -> Any:
    """``cls.<name>`` if some class between ``cls`` and ``base`` (default: the node's base class) defines it
    differently from ``base``; None when only the placeholder exists (an optional hook not implemented)."""
    if base is None:
        if not hasattr(cls, "GET_BASE_CLASS"):
            raise ValueError("base is required if cls does not have a GET_BASE_CLASS")
        base = cls.GET_BASE_CLASS()
    placeholder = getattr(base, name, None)
    if placeholder is None:
        return None
    placeholder_func = getattr(placeholder, "__func__", placeholder)
    for klass in cls.mro():
        if klass is base:
            break
        if name in klass.__dict__:
            found = getattr(klass, name)
            if getattr(found, "__func__", found) is not placeholder_func:
                return getattr(cls, name)
    return None


def make_locked_method_func(type_obj: type, func: str, class_clone: type) -> Callable[..., Any]:
    """``type_obj.<func>`` bound to ``class_clone`` (ComfyUI also locks the clone's attributes)."""
    method = getattr(type_obj, func).__func__
    if asyncio.iscoroutinefunction(method):
        async def call_async(**inputs: Any) -> Any:
            return await method(class_clone, **inputs)
        return call_async

    def call(**inputs: Any) -> Any:
        return method(class_clone, **inputs)
    return call


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_api.internal", name)

"""``comfy.patcher_extension`` for ComfyUI packs: wrapper and callback registries in ``transformer_options``.

The wrapper chain is Inkgraph's own (``patches.options.WrapperExecutor``), which its sampler runs at the
points ComfyUI's does (outer sample, predict noise, calc cond batch, diffusion model); these functions
read and write the same nested dicts as ComfyUI's (``{"wrappers": {type: {key: [fn]}}}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inkgraph.nodes.diffusion.patches.options import WrapperExecutor
from inkgraph.nodes.diffusion.patches.options import WrappersMP as _NativeWrappers

from ..stubs import comfy_attribute

__all__ = ["CallbacksMP", "PatcherInjection", "WrapperExecutor", "WrappersMP", "add_callback", "add_callback_with_key",
           "add_wrapper", "add_wrapper_with_key", "copy_nested_dicts", "get_all_callbacks", "get_all_wrappers",
           "get_callbacks_with_key", "get_wrappers_with_key", "merge_nested_dicts"]


class WrappersMP(_NativeWrappers):  # type: ignore[misc]
    @classmethod
    def init_wrappers(cls) -> dict[str, dict[Any, list[Callable[..., Any]]]]:
        return {}


class CallbacksMP:
    ON_CLONE = "on_clone"
    ON_LOAD = "on_load_after"
    ON_DETACH = "on_detach_after"
    ON_CLEANUP = "on_cleanup"
    ON_PRE_RUN = "on_pre_run"
    ON_PREPARE_STATE = "on_prepare_state"
    ON_APPLY_HOOKS = "on_apply_hooks"
    ON_REGISTER_ALL_HOOK_PATCHES = "on_register_all_hook_patches"
    ON_INJECT_MODEL = "on_inject_model"
    ON_EJECT_MODEL = "on_eject_model"

    @classmethod
    def init_callbacks(cls) -> dict[str, dict[Any, list[Callable[..., Any]]]]:
        return {}


class PatcherInjection:
    def __init__(self, inject: Callable[..., Any], eject: Callable[..., Any]) -> None:
        self.inject, self.eject = inject, eject


def _options(transformer_options: dict[str, Any], is_model_options: bool, create: bool) -> dict[str, Any]:
    if not is_model_options:
        return transformer_options
    if create:
        found: dict[str, Any] = transformer_options.setdefault("transformer_options", {})
        return found
    return transformer_options.get("transformer_options", {})  # type: ignore[no-any-return]


def _add(table: str, kind: str, key: Any, fn: Callable[..., Any], transformer_options: dict[str, Any],
         is_model_options: bool) -> None:
    options = _options(transformer_options, is_model_options, True)
    options.setdefault(table, {}).setdefault(kind, {}).setdefault(key, []).append(fn)


def _with_key(table: str, kind: str, key: Any, transformer_options: dict[str, Any], is_model_options: bool
              ) -> list[Callable[..., Any]]:
    options = _options(transformer_options, is_model_options, False)
    return list(options.get(table, {}).get(kind, {}).get(key, []))


def _all(table: str, kind: str, transformer_options: dict[str, Any], is_model_options: bool
         ) -> list[Callable[..., Any]]:
    options = _options(transformer_options, is_model_options, False)
    return [fn for fns in options.get(table, {}).get(kind, {}).values() for fn in fns]


def add_wrapper(wrapper_type: str, wrapper: Callable[..., Any], transformer_options: dict[str, Any],
                is_model_options: bool = False) -> None:
    _add("wrappers", wrapper_type, None, wrapper, transformer_options, is_model_options)


def add_wrapper_with_key(wrapper_type: str, key: Any, wrapper: Callable[..., Any], transformer_options: dict[str, Any],
                         is_model_options: bool = False) -> None:
    _add("wrappers", wrapper_type, key, wrapper, transformer_options, is_model_options)


def get_wrappers_with_key(wrapper_type: str, key: Any, transformer_options: dict[str, Any],
                          is_model_options: bool = False) -> list[Callable[..., Any]]:
    return _with_key("wrappers", wrapper_type, key, transformer_options, is_model_options)


def get_all_wrappers(wrapper_type: str, transformer_options: dict[str, Any], is_model_options: bool = False
                     ) -> list[Callable[..., Any]]:
    return _all("wrappers", wrapper_type, transformer_options, is_model_options)


def add_callback(call_type: str, callback: Callable[..., Any], transformer_options: dict[str, Any],
                 is_model_options: bool = False) -> None:
    _add("callbacks", call_type, None, callback, transformer_options, is_model_options)


def add_callback_with_key(call_type: str, key: Any, callback: Callable[..., Any], transformer_options: dict[str, Any],
                          is_model_options: bool = False) -> None:
    _add("callbacks", call_type, key, callback, transformer_options, is_model_options)


def get_callbacks_with_key(call_type: str, key: Any, transformer_options: dict[str, Any],
                           is_model_options: bool = False) -> list[Callable[..., Any]]:
    return _with_key("callbacks", call_type, key, transformer_options, is_model_options)


def get_all_callbacks(call_type: str, transformer_options: dict[str, Any], is_model_options: bool = False
                      ) -> list[Callable[..., Any]]:
    return _all("callbacks", call_type, transformer_options, is_model_options)


def copy_nested_dicts(input_dict: dict[Any, Any]) -> dict[Any, Any]:
    out = dict(input_dict)
    for key, value in input_dict.items():
        if isinstance(value, dict):
            out[key] = copy_nested_dicts(value)
        elif isinstance(value, list):
            out[key] = list(value)
    return out


def merge_nested_dicts(dict1: dict[Any, Any], dict2: dict[Any, Any], copy_dict1: bool = True) -> dict[Any, Any]:
    """``dict2`` merged into (a copy of) ``dict1``: nested dicts merged, lists extended, other values replaced."""
    merged = copy_nested_dicts(dict1) if copy_dict1 else dict1
    for key, value in dict2.items():
        if isinstance(value, dict):
            merged[key] = merge_nested_dicts(value, merged.setdefault(key, {}))
        elif isinstance(value, list):
            merged.setdefault(key, []).extend(value)
        else:
            merged[key] = value
    return merged


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.patcher_extension", name)

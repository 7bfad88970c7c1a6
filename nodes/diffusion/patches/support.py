"""Which model patches a family's adapter runs, and the context that installs them for one network call.

A family's adapter (``conds.ModelAdapter``) that can run attention or block patches declares

- ``supported_patches``: the names it honours — keys of ``transformer_options["patches"]`` (``attn1_patch``,
  ``output_block_patch`` …) and of ``transformer_options["patches_replace"]`` (``attn1``, ``attn2`` …);
- ``patched(module, transformer_options)``: a context manager that makes one network call run them,
  leaving the module as it was afterwards (attention processors and module hooks, for diffusers).

Patches a family cannot run fail before the first step with an error that names the node that added them
and the family. A patch function says which node it comes from with a ``node_name`` attribute (on itself or,
for a bound method, on its object); a CFG hook
that adds patches during sampling (PAG adds an ``attn1`` replacement) lists them in ``requires_patches``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from .options import CALC_COND_BATCH_FUNCTION, CFG_FUNCTION, MODEL_FUNCTION_WRAPPER, POST_CFG, PRE_CFG

ROPE_OPTIONS = "rope_options"


class _ScaleRope:
    node_name = "ScaleROPE"  # who asked for rotary options, in messages


class PatchNotSupported(ValueError):
    """A MODEL carries patches its family's network cannot run."""


def _who(fn: Any) -> str:
    """The node a patch function comes from (its own ``node_name``, or its object's for a bound method)."""
    name = getattr(fn, "node_name", None) or getattr(getattr(fn, "__self__", None), "node_name", None)
    return str(name or getattr(fn, "__qualname__", None) or type(fn).__name__)


def _named_patches(transformer_options: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, fns in (transformer_options.get("patches") or {}).items():
        for fn in fns or ():
            yield name, fn
    for name, by_block in (transformer_options.get("patches_replace") or {}).items():
        for fn in (by_block or {}).values():
            yield name, fn
    if transformer_options.get(ROPE_OPTIONS):  # ScaleROPE: the family must compute its rotary positions anew
        yield ROPE_OPTIONS, _ScaleRope()


def used_patches(transformer_options: Mapping[str, Any]) -> bool:
    """Whether one call's transformer_options carries any attention or block patch."""
    return next(_named_patches(transformer_options), None) is not None


def check_supported(adapter: Any, model_options: Mapping[str, Any], family: str) -> None:
    """Raise :class:`PatchNotSupported` when the options need patches the adapter does not run."""
    needed: list[tuple[str, Any]] = list(_named_patches(model_options.get("transformer_options") or {}))
    hooks: list[Any] = [*model_options.get(PRE_CFG, []), *model_options.get(POST_CFG, [])]
    for key in (CFG_FUNCTION, CALC_COND_BATCH_FUNCTION, MODEL_FUNCTION_WRAPPER):
        if model_options.get(key) is not None:
            hooks.append(model_options[key])
    for hook in hooks:
        needed.extend((name, hook) for name in getattr(hook, "requires_patches", ()))
    _raise_unsupported(adapter, needed, family)


def _raise_unsupported(adapter: Any, needed: list[tuple[str, Any]], family: str) -> None:
    supported = frozenset(getattr(adapter, "supported_patches", frozenset()))
    missing: dict[str, list[str]] = {}
    for name, fn in needed:
        if name not in supported:
            missing.setdefault(_who(fn), [])
            if name not in missing[_who(fn)]:
                missing[_who(fn)].append(name)
    if not missing:
        return
    offers = ", ".join(sorted(supported)) if supported else "none"
    problems = "; ".join(f"{who} needs {', '.join(repr(n) for n in names)} patches" for who, names in missing.items())
    raise PatchNotSupported(f"{problems}, which the '{family}' model family cannot run "
                            f"({type(adapter).__name__} supports: {offers})")


def patch_context(adapter: Any, module: Any, transformer_options: Mapping[str, Any], family: str
                  ) -> AbstractContextManager[Any]:
    """What makes one network call run the call's patches (nothing to do when it carries none)."""
    if not used_patches(transformer_options):
        return nullcontext()
    _raise_unsupported(adapter, list(_named_patches(transformer_options)), family)
    context: AbstractContextManager[Any] = adapter.patched(module, transformer_options)
    return context

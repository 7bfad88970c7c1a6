"""MODEL, CLIP, VAE, SAMPLER and GUIDER values as ComfyUI packs see them, and back.

Inkgraph's own nodes pass frozen handles (``handles.ModelHandle`` …) and its own sampler and guider objects;
a ComfyUI pack expects ComfyUI's classes: a ``ModelPatcher`` it can ``clone()`` and patch in place, a
``comfy.sd.CLIP`` it can tokenize with, a ``KSAMPLER`` whose ``sampler_function`` it can wrap. So the values
are converted where they cross between the two, and nowhere else:

- :func:`to_comfy` when a ComfyUI node receives its inputs (V1 and V3 adapters) and when a pack calls one of
  Inkgraph's built-in nodes through ``nodes.<Class>`` (its results);
- :func:`to_inkgraph` on what a ComfyUI node returns, and on the arguments a pack hands to a built-in node.

Conversion goes through lists, tuples and dicts (pipes of models, conditioning lists), never into other
objects; a value that is neither kind is passed as it is. Facades build a new handle from their state when
converted back (``ModelPatcher.clone()`` + ``set_model_*`` gives a MODEL with those model options; the
handle the pack received is never changed), so the engine's cache and the other branches of a graph stay
untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MAX_DEPTH = 8  # pipes nest models a few levels deep; deeper structures are data, passed as they are


def _comfy_converters() -> list[tuple[type, Callable[[Any], Any]]]:
    from inkgraph.nodes.diffusion.guidance import Guider
    from inkgraph.nodes.diffusion.handles import ClipHandle, ModelHandle, VaeHandle
    from inkgraph.nodes.diffusion.samplers import Sampler

    from .comfy.model_patcher import ModelPatcher
    from .comfy.samplers import guider_facade, sampler_facade
    from .comfy.sd import CLIP, VAE

    return [(ModelHandle, ModelPatcher.of), (ClipHandle, CLIP.of), (VaeHandle, VAE.of), (Sampler, sampler_facade),
            (Guider, guider_facade)]


def _is_facade(value: Any) -> bool:
    return callable(getattr(value, "__inkgraph_value__", None))


def _walk(value: Any, convert: Callable[[Any], Any | None], depth: int) -> Any:
    found = convert(value)
    if found is not None:
        return found
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, list):
        items = [_walk(v, convert, depth + 1) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if type(value) is tuple:  # named tuples and other tuple classes are the pack's own data
        items = [_walk(v, convert, depth + 1) for v in value]
        return tuple(items) if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if type(value) is dict:
        changed = {k: _walk(v, convert, depth + 1) for k, v in value.items()}
        return changed if any(changed[k] is not value[k] for k in value) else value
    return value


def to_comfy(value: Any) -> Any:
    """``value`` with Inkgraph's handles and sampling objects replaced by ComfyUI facades over them."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    converters = _converters()

    def convert(item: Any) -> Any | None:
        for kind, make in converters:
            if type(item) is kind or isinstance(item, kind):
                return make(item)
        return None

    return _walk(value, convert, 0)


def to_inkgraph(value: Any) -> Any:
    """``value`` with ComfyUI facades replaced by the Inkgraph values they stand for (a facade a pack made
    of its own objects — a ``ModelPatcher`` over its own module — stays a facade)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value

    def convert(item: Any) -> Any | None:
        return item.__inkgraph_value__() if _is_facade(item) else None

    return _walk(value, convert, 0)


_CONVERTERS: list[tuple[type, Callable[[Any], Any]]] = []


def _converters() -> list[tuple[type, Callable[[Any], Any]]]:
    if not _CONVERTERS:
        _CONVERTERS.extend(_comfy_converters())
    return _CONVERTERS

"""A CLIP's hooks while a prompt is encoded (SetClipHooks; ComfyUI's ``CLIP.encode_from_tokens_scheduled``).

Without scheduling, the prompt is encoded once with each hook's CLIP weights at its strength_clip. With
schedule_clip, the sampling is split into the percent ranges over which no hook's keyframe strength
changes (``HookGroup.clip_schedule``); the prompt is encoded once per range with each hook at strength_clip
× that range's keyframe strength, and each entry carries its range as ``clip_start_percent`` /
``clip_end_percent`` so the sampler uses it only there. With apply_to_conds, every entry carries the hooks
(their model weights then apply while it is sampled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import ClipHooks, Keyframe

Encode = Callable[[dict[str, Any]], list[list[Any]]]


def _tagged(entries: list[list[Any]], hooks: ClipHooks, **values: Any) -> list[list[Any]]:
    extra = dict(values)
    if hooks.for_conds is not None:
        extra["hooks"] = hooks.for_conds
    return [[embedding, {**options, **extra}] for embedding, options in entries]


def encode_hooked(clip: Any, hooks: ClipHooks, encode: Encode) -> list[list[Any]]:
    """CONDITIONING from ``encode(encoders by slot)`` with the hooks' CLIP weights applied (scheduled or not)."""
    if not hooks.schedule:
        extra = tuple((hook.weights, hook.strength_clip * hook.keyframes.strength) for hook in hooks.forced.hooks)
        with clip.by_slot(extra) as encoders:
            return _tagged(encode(encoders), hooks)
    out: list[list[Any]] = []
    for (start, end), frames in hooks.forced.clip_schedule():
        extra = tuple((hook.weights, hook.strength_clip * _strength(frame)) for hook, frame in frames)
        with clip.by_slot(extra) as encoders:
            out += _tagged(encode(encoders), hooks, clip_start_percent=start, clip_end_percent=end)
    return out


def _strength(frame: Keyframe | None) -> float:
    return float(frame.strength) if frame is not None else 1.0

"""Hook values: what the HOOKS and HOOK_KEYFRAMES sockets carry (ComfyUI's ``comfy.hooks`` data, frozen).

A :class:`Hook` is ComfyUI's ``WeightHook``: weights (a LoRA, or another checkpoint used as a LoRA) with a
model strength and a CLIP strength, and the :class:`Keyframes` that schedule its strength over sampling.
A :class:`HookGroup` is an ordered set of hooks. ComfyUI's hooks are mutable objects whose clones share a
``hook_ref`` (what makes two hooks "the same hook") and a keyframe group (whose position during sampling
is shared state); here both are plain identities: clones keep the ``ref`` object, and hooks given
keyframes by one node share one :class:`Keyframes` object. Values never change, so a cached node output
can feed any number of branches; the state a sampling run keeps (which keyframe is current) lives in that
run (``hooks.schedule``).

Nothing here imports torch at module level.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Keyframe:
    """ComfyUI's ``HookKeyframe``: from ``start_percent`` of the sampling on, hooks are at ``strength``;
    ``guarantee_steps`` steps run at it before a later keyframe may take over."""

    strength: float
    start_percent: float = 0.0
    guarantee_steps: int = 1


@dataclass(frozen=True, eq=False)
class Keyframes:
    """ComfyUI's ``HookKeyframeGroup``: keyframes kept sorted by ``start_percent`` (stable: equal starts stay
    in the order they were added). Compared by identity: the hooks one node schedules share one object,
    and so one position during sampling."""

    keyframes: tuple[Keyframe, ...] = ()

    def add(self, keyframe: Keyframe) -> Keyframes:
        """A new group with one more keyframe (ComfyUI's clone-then-add)."""
        return Keyframes(tuple(sorted((*self.keyframes, keyframe), key=lambda k: k.start_percent)))

    def clone(self) -> Keyframes:
        """The same keyframes with a fresh identity (their own position during sampling)."""
        return Keyframes(self.keyframes)

    @property
    def strength(self) -> float:
        """The strength before sampling moves on: the first keyframe's (1.0 without keyframes)."""
        return self.keyframes[0].strength if self.keyframes else 1.0

    def cache_nbytes(self) -> int:
        return 64 * (1 + len(self.keyframes))


class HookRef:
    """What makes hooks "the same hook" (ComfyUI's ``_HookRef``): clones share it."""

    __slots__ = ()


@dataclass(frozen=True, eq=False)
class Hook:
    """ComfyUI's ``WeightHook``.

    ``weights`` is a ``lora.LoraFile`` (its ``unet`` patches apply to the diffusion model, ``te*`` to the
    text encoders). The strength a patch applies at is ``strength_model`` (``strength_clip``) times the
    current keyframe's strength.
    """

    weights: Any
    strength_model: float = 1.0
    strength_clip: float = 1.0
    keyframes: Keyframes = field(default_factory=Keyframes)
    ref: HookRef = field(default_factory=HookRef)
    name: str = ""  # the file the weights came from, for messages

    def with_keyframes(self, keyframes: Keyframes) -> Hook:
        """The same hook (same ``ref``) scheduled by other keyframes."""
        return replace(self, keyframes=keyframes)

    def same_as(self, other: Hook) -> bool:
        return self.ref is other.ref

    def cache_nbytes(self) -> int:
        return 64  # the weights belong to the LoRA file cache


@dataclass(frozen=True, eq=False)
class HookGroup:
    """ComfyUI's ``HookGroup``: hooks in order, none twice (by ``ref``)."""

    hooks: tuple[Hook, ...] = ()

    @classmethod
    def of(cls, hooks: Iterable[Hook]) -> HookGroup:
        kept: list[Hook] = []
        for hook in hooks:
            if not any(hook.same_as(k) for k in kept):
                kept.append(hook)
        return cls(tuple(kept))

    def __len__(self) -> int:
        return len(self.hooks)

    def contains(self, hook: Hook) -> bool:
        return any(hook.same_as(h) for h in self.hooks)

    def combined(self, other: HookGroup | None) -> HookGroup:
        """ComfyUI's ``clone_and_combine``: these hooks, then those of ``other`` not already here."""
        return HookGroup.of((*self.hooks, *(other.hooks if other is not None else ())))

    def with_keyframes(self, keyframes: Keyframes | None) -> HookGroup:
        """ComfyUI's ``set_keyframes_on_hooks``: every hook scheduled by one fresh copy of ``keyframes``
        (no keyframes: always at full strength)."""
        shared = keyframes.clone() if keyframes is not None else Keyframes()
        return HookGroup(tuple(hook.with_keyframes(shared) for hook in self.hooks))

    def key(self) -> tuple[tuple[int, int], ...]:
        """What sampling groups entries by: the hooks and the schedules they follow."""
        return tuple((id(h.ref), id(h.keyframes)) for h in self.hooks)

    def clip_schedule(self) -> list[tuple[tuple[float, float], list[tuple[Hook, Keyframe | None]]]]:
        """ComfyUI's ``get_hooks_for_clip_schedule``: the sampling split into percent ranges over which no
        hook's strength changes, each with every hook's keyframe there (None: no keyframes, strength 1)."""
        scheduled: list[tuple[Hook, list[tuple[tuple[float, float], Keyframe | None]]]] = []
        for hook in self.hooks:
            frames = hook.keyframes.keyframes
            if not frames:
                scheduled.append((hook, [((0.0, 1.0), None)]))
                continue
            ranges: list[tuple[tuple[float, float], Keyframe | None]] = []
            previous = frames[0]
            for frame in frames:
                if frame.start_percent > previous.start_percent and not math.isclose(frame.strength,
                                                                                    previous.strength):
                    ranges.append(((previous.start_percent, frame.start_percent), previous))
                    previous = frame
                elif frame.start_percent == previous.start_percent:
                    previous = frame
            if not math.isclose(previous.start_percent, 1.0):
                ranges.append(((previous.start_percent, 1.0), previous))
            scheduled.append((hook, ranges))
        bounds = sorted({0.0, *itertools.chain.from_iterable(r for _, rs in scheduled for r, _ in rs)})
        out = []
        for start, end in itertools.pairwise(bounds):
            chosen: list[tuple[Hook, Keyframe | None]] = []
            for hook, ranges in scheduled:
                chosen.append((hook, next((kf for (a, b), kf in ranges if a < end and b > start), None)))
            out.append(((start, end), chosen))
        return out

    @staticmethod
    def combine_all(groups: Iterable[HookGroup | None]) -> HookGroup | None:
        """ComfyUI's ``combine_all_hooks``: None without groups, the group itself when there is one."""
        actual = [g for g in groups if g is not None]
        if not actual:
            return None
        if len(actual) == 1:
            return actual[0]
        out = actual[0]
        for group in actual[1:]:
            out = out.combined(group)
        return out

    def cache_nbytes(self) -> int:
        return 64 * (1 + len(self.hooks))


@dataclass(frozen=True, eq=False)
class ClipHooks:
    """What SetClipHooks puts on a CLIP: the hooks whose CLIP weights apply when it encodes (``forced``),
    whether encoding follows their keyframes (``schedule``), and the hooks each entry it encodes carries
    (``for_conds``, None when apply_to_conds is off)."""

    forced: HookGroup
    schedule: bool = False
    for_conds: HookGroup | None = None


# -- interpolation (ComfyUI's InterpolationMethod) ----------------------------------------------------------

LINEAR, EASE_IN, EASE_OUT, EASE_IN_OUT = "linear", "ease_in", "ease_out", "ease_in_out"
INTERPOLATIONS = (LINEAR, EASE_IN, EASE_OUT, EASE_IN_OUT)


def interpolate(start: float, end: float, count: int, method: str) -> list[float]:
    """``count`` values from ``start`` to ``end`` along ``method``, computed in float32 as ComfyUI does
    (torch.linspace, then numpy for the eased curves)."""
    import numpy as np
    import torch

    diff = end - start
    if method == LINEAR:
        values = torch.linspace(start, end, count).numpy()
    else:
        index = torch.linspace(0, 1, count).numpy()
        if method == EASE_IN:
            values = diff * np.power(index, 2) + start
        elif method == EASE_OUT:
            values = diff * (1 - np.power(1 - index, 2)) + start
        elif method == EASE_IN_OUT:
            values = diff * ((1 - np.cos(index * np.float32(np.pi))) / 2) + start
        else:
            raise ValueError(f"unrecognized interpolation method {method!r} (one of {', '.join(INTERPOLATIONS)})")
    return [float(v) for v in values.astype(np.float32)]

"""Hooks during one sampling run: the network's weights follow the hooks of the entries being evaluated.

ComfyUI groups the entries of every conditioning by the hooks they carry and runs each group with the
model patched for it (``_calc_cond_batch``: ``apply_hooks`` per group). :class:`HookRunner` is that for a
:class:`~..guidance.ModelRunner`: :meth:`HookRunner.advance` moves the keyframes of the groups evaluated
at a σ, :meth:`HookRunner.apply` makes the network's weights base + the MODEL's LoRAs + each hook's model
weights at strength_model × its keyframe strength (nothing for entries without hooks), and
:meth:`HookRunner.finish` puts the MODEL's own weights back when the run ends. Weights are switched with
``lora.sync``, which restores the originals exactly, so a hook at strength 0 leaves the network
bit-identical to an unhooked one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import HookGroup
from .schedule import HookSchedule


def hooks_of(cond: Any) -> HookGroup | None:
    """The hooks a prepared entry (``conds.Cond``) carries."""
    found = cond.options.get("hooks")
    return found if isinstance(found, HookGroup) and len(found) else None


def group_key(hooks: HookGroup | None) -> tuple[Any, ...]:
    return () if hooks is None else hooks.key()


class HookRunner:
    """Hook weights on one loaded network for one run.

    ``model`` is the MODEL handle (its ``sync_weights`` applies base + LoRAs + extra pairs); ``sigmas``
    gives the run's σ schedule once the sampler has it (ComfyUI's ``sample_sigmas``)."""

    def __init__(self, model: Any, module: Any, model_sampling: Any,
                 sigmas: Callable[[], Any] = lambda: None) -> None:
        self.model = model
        self.module = getattr(module, "_orig_mod", module)  # the weights of a torch.compile'd network
        self.schedule = HookSchedule(model_sampling.percent_to_sigma, lambda: self._max_sigma(sigmas()))
        self.current: tuple[Any, ...] | None = None

    @staticmethod
    def _max_sigma(sigmas: Any) -> float | None:
        return None if sigmas is None or len(sigmas) == 0 else float(sigmas.max())

    def advance(self, groups: list[HookGroup | None], sigma: Any) -> None:
        """The keyframes of these groups' hooks at σ (each schedule moves once per σ)."""
        for group in groups:
            if group is not None:
                self.schedule.advance(group, sigma)

    def strengths(self, hooks: HookGroup | None) -> tuple[tuple[Any, float], ...]:
        """(weights, strength) of each hook of a group now: strength_model × keyframe strength."""
        if hooks is None:
            return ()
        return tuple((hook.weights, hook.strength_model * self.schedule.strength(hook)) for hook in hooks.hooks)

    def apply(self, hooks: HookGroup | None) -> None:
        """The network's weights for a group of entries (base + LoRAs for entries without hooks)."""
        extra = self.strengths(hooks)
        wanted = tuple((id(w), s) for w, s in extra)
        if wanted == self.current:
            return
        sync = getattr(self.model, "sync_weights", None)
        if sync is not None:
            sync(self.module, extra)
        else:  # a bare network (tests): the hooks alone
            from ..lora import sync as sync_loras

            sync_loras(self.module, "unet", extra)
        self.current = wanted

    def finish(self) -> None:
        """The MODEL's own weights again (the run is over)."""
        self.apply(None)

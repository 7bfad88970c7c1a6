"""Where each hook's keyframes stand during one sampling run (ComfyUI's ``HookKeyframeGroup`` state).

Each :class:`~.model.Keyframes` object has one position per run, shared by every hook scheduled by it. A
position moves only when an entry carrying one of those hooks is evaluated at a new σ, so a hook whose
entries sit outside their timestep range does not advance, exactly as in ComfyUI:

- the run starts at the first keyframe (whatever its start: a lone keyframe at 0.5 applies from the
  first step);
- at a new σ, once the current keyframe has run its ``guarantee_steps`` σ values, the following keyframes
  whose start σ (``percent_to_sigma(start_percent)``) is ≥ σ are taken in turn, stopping at the first that
  guarantees steps; a keyframe that starts before the run's largest σ (a run starting part way, e.g. with
  denoise < 1) guarantees none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Hook, HookGroup, Keyframes


class KeyframeState:
    """One :class:`Keyframes` object's position in one run."""

    def __init__(self, keyframes: Keyframes, percent_to_sigma: Callable[[float], float]) -> None:
        self.frames = keyframes.keyframes
        self.starts = [float(percent_to_sigma(frame.start_percent)) for frame in self.frames]
        self.index = 0
        self.used = 0
        self.last_sigma: float | None = None

    @property
    def strength(self) -> float:
        return float(self.frames[self.index].strength) if self.frames else 1.0

    def _guaranteed(self, index: int, max_sigma: float) -> int:
        return 0 if self.starts[index] > max_sigma else self.frames[index].guarantee_steps

    def advance(self, sigma: float, max_sigma: float) -> None:
        """ComfyUI's ``prepare_current_keyframe`` at σ (once per distinct σ)."""
        if not self.frames or sigma == self.last_sigma:
            return
        if self.used >= self._guaranteed(self.index, max_sigma):
            for i in range(self.index + 1, len(self.frames)):
                if self.starts[i] < sigma:
                    break
                self.index, self.used = i, 0
                if self._guaranteed(i, max_sigma) > 0:
                    break
        self.used += 1
        self.last_sigma = sigma


class HookSchedule:
    """Every keyframe position of one run; ``max_sigma`` gives the run's largest σ (its first), or None
    while it is not known (the first σ evaluated stands in)."""

    def __init__(self, percent_to_sigma: Callable[[float], float],
                 max_sigma: Callable[[], float | None] = lambda: None) -> None:
        self.percent_to_sigma = percent_to_sigma
        self.max_sigma = max_sigma
        self._states: dict[int, tuple[Keyframes, KeyframeState]] = {}
        self._first: float | None = None

    def state(self, keyframes: Keyframes) -> KeyframeState:
        found = self._states.get(id(keyframes))
        if found is None or found[0] is not keyframes:
            found = (keyframes, KeyframeState(keyframes, self.percent_to_sigma))
            self._states[id(keyframes)] = found
        return found[1]

    def advance(self, group: HookGroup, sigma: Any) -> None:
        """Move the keyframes of a group's hooks to σ (``sigma``: a tensor of the batch's σ, or a float)."""
        current = float(sigma.reshape(-1)[0]) if hasattr(sigma, "reshape") else float(sigma)
        if self._first is None:
            self._first = current
        top = self.max_sigma()
        top = self._first if top is None else top
        for hook in group.hooks:
            self.state(hook.keyframes).advance(current, top)

    def strength(self, hook: Hook) -> float:
        """The hook's keyframe strength now (before the run's first step: its first keyframe's)."""
        return self.state(hook.keyframes).strength

"""Step caching: skip network calls whose output can be predicted from the last one (EasyCache, LazyCache).

Both follow ComfyUI's ``nodes_easycache``. Between σ(start_percent) and σ(end_percent) they watch how much
the input changed since the last computed step (a subsampled mean absolute difference) and how strongly the
output answered the last change (the "transformation rate"). The predicted relative output change is
accumulated; while it stays below ``reuse_threshold`` the call is skipped and the output is the input plus
the last (output − input) difference.

- EasyCache works per network call (a DIFFUSION_MODEL wrapper): the first conditioning entry of the first
  cached step decides for the whole step, every entry reusing its own cached difference (by its uuid).
- LazyCache works per denoiser call (a PREDICT_NOISE wrapper) on the guided prediction, so it applies to
  any model and guider.

The state lives in the run's ``transformer_options["easycache"]``: an OUTER_SAMPLE wrapper replaces the
node's settings there with fresh state for each sampling run and logs the steps skipped at the end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import torch

log = logging.getLogger(__name__)

KEY = "easycache"
SUBSAMPLE = 8  # spatial stride of the change measurements


@dataclass(frozen=True)
class StepCacheSettings:
    """What the node chose; each sampling run gets fresh :class:`StepCacheState` from it."""

    name: str  # "EasyCache" or "LazyCache"
    reuse_threshold: float
    start_percent: float
    end_percent: float
    verbose: bool = False
    node_name: str = ""

    def start(self, model_sampling: Any) -> StepCacheState:
        return StepCacheState(self, float(model_sampling.percent_to_sigma(self.start_percent)),
                              float(model_sampling.percent_to_sigma(self.end_percent)))


class StepCacheState:
    """One run's measurements and cached differences."""

    def __init__(self, settings: StepCacheSettings, start_sigma: float, end_sigma: float) -> None:
        self.settings, self.start_sigma, self.end_sigma = settings, start_sigma, end_sigma
        self.reset()

    def reset(self) -> None:
        self.rate: torch.Tensor | None = None  # output change per unit of input change, at the last step
        self.cumulative = 0.0
        self.first_uuid: UUID | None = None  # EasyCache: the entry whose change decides for the step
        self.initial = True
        self.skip_step = False
        self.x_prev: torch.Tensor | None = None
        self.out_prev: torch.Tensor | None = None
        self.out_prev_norm: torch.Tensor | None = None
        self.diffs: dict[Any, torch.Tensor] = {}
        self.skipped = 0
        self.metadata: tuple[Any, ...] | None = None

    def past_end(self, sigma: torch.Tensor) -> bool:
        return not float(sigma[0]) > self.end_sigma

    def active(self, sigma: torch.Tensor) -> bool:
        return float(sigma[0]) <= self.start_sigma

    def check_metadata(self, x: torch.Tensor, whole_shape: bool) -> None:
        metadata = (x.device, x.dtype, tuple(x.shape if whole_shape else x.shape[1:]))
        if self.metadata is not None and metadata != self.metadata:
            log.warning("%s: the input's shape, dtype or device changed; starting over", self.settings.name)
            self.reset()
        self.metadata = metadata

    def decide(self, input_change: torch.Tensor) -> bool:
        """Whether to skip this step, from the accumulated predicted output change."""
        if self.out_prev_norm is None or self.rate is None:
            return False
        self.cumulative += float(self.rate * input_change / self.out_prev_norm)
        if self.cumulative < self.settings.reuse_threshold:
            if self.settings.verbose:
                log.info("%s: skipping a step (accumulated change %.4f)", self.settings.name, self.cumulative)
            return True
        self.cumulative = 0.0
        return False

    def learn(self, output: torch.Tensor, out_sub: torch.Tensor, input_change: torch.Tensor | None) -> None:
        """After a computed step: the transformation rate, and the references for the next step."""
        if self.out_prev is not None and input_change is not None:
            output_change = (out_sub - self.out_prev).flatten().abs().mean()
            self.rate = output_change / input_change
        self.out_prev = out_sub.clone()
        self.out_prev_norm = output.flatten().abs().mean()


def _subsample(x: torch.Tensor) -> torch.Tensor:
    return x[..., ::SUBSAMPLE, ::SUBSAMPLE]


def outer_sample(executor: Any, *args: Any, **kwargs: Any) -> Any:
    """OUTER_SAMPLE wrapper: fresh state for this run in the run's options; a summary when it ends."""
    run = executor.class_obj
    options = run.model_options.setdefault("transformer_options", {})
    settings = options[KEY]
    settings = settings.settings if isinstance(settings, StepCacheState) else settings
    state = settings.start(run.model_sampling)
    options[KEY] = state
    log.info("%s enabled: threshold %s, from %s to %s of the schedule", settings.name, settings.reuse_threshold,
             settings.start_percent, settings.end_percent)
    try:
        return executor(*args, **kwargs)
    finally:
        steps = len(args[3]) - 1 if len(args) > 3 else 0
        done = steps - state.skipped
        log.info("%s: skipped %d of %d steps (%.2fx)", settings.name, state.skipped, steps,
                 steps / done if done > 0 else 1.0)
        options[KEY] = settings


# -- EasyCache --------------------------------------------------------------------------------------------

def calc_cond_batch(executor: Any, *args: Any, **kwargs: Any) -> Any:
    """CALC_COND_BATCH wrapper: every denoiser step decides afresh whether to skip."""
    state = args[-1]["transformer_options"][KEY]
    if isinstance(state, StepCacheState):
        state.skip_step = False
    return executor(*args, **kwargs)


def _entry_slices(x: torch.Tensor, uuids: list[Any]) -> list[tuple[Any, slice]]:
    per = x.shape[0] // len(uuids)
    return [(uuid, slice(i * per, (i + 1) * per)) for i, uuid in enumerate(uuids)]


def diffusion_model(executor: Any, x: torch.Tensor, timestep: torch.Tensor, conds: Any,
                    transformer_options: dict[str, Any]) -> torch.Tensor:
    """DIFFUSION_MODEL wrapper of EasyCache (``x`` is the network's input)."""
    state = transformer_options[KEY]
    if not isinstance(state, StepCacheState):
        return executor(x, timestep, conds, transformer_options)  # type: ignore[no-any-return]
    sigmas, uuids = transformer_options["sigmas"], transformer_options["uuids"]
    if state.past_end(sigmas):
        return executor(x, timestep, conds, transformer_options)  # type: ignore[no-any-return]
    first = state.first_uuid in uuids
    input_change = None
    if state.active(sigmas):
        state.check_metadata(x, whole_shape=False)
        cached = all(uuid in state.diffs and state.diffs[uuid].shape[1:] == x.shape[1:] for uuid in uuids)
        if state.skip_step and cached:
            return _reuse(state, x, uuids)
        if state.initial:
            state.first_uuid, first, state.initial = uuids[0], True, False
        if first and state.x_prev is not None:
            input_change = (_subsample(_first_entry(state, x, uuids)) - state.x_prev).flatten().abs().mean()
            if cached and state.decide(input_change):
                state.skip_step = True
                return _reuse(state, x, uuids)
    output: torch.Tensor = executor(x, timestep, conds, transformer_options)
    diff = output - x
    for uuid, part in _entry_slices(diff, uuids):
        state.diffs[uuid] = diff[part]
    if first:
        state.learn(output, _subsample(_first_entry(state, output, uuids)), input_change)
        state.x_prev = _subsample(_first_entry(state, x, uuids)).clone()
    return output


def _first_entry(state: StepCacheState, x: torch.Tensor, uuids: list[Any]) -> torch.Tensor:
    per = x.shape[0] // len(uuids)
    i = uuids.index(state.first_uuid)
    return x[i * per:(i + 1) * per]


def _reuse(state: StepCacheState, x: torch.Tensor, uuids: list[Any]) -> torch.Tensor:
    if state.first_uuid in uuids:
        state.skipped += 1
    return torch.cat([x[part] + state.diffs[uuid].to(x.device) for uuid, part in _entry_slices(x, uuids)])


# -- LazyCache ----------------------------------------------------------------------------------------------

def predict_noise(executor: Any, x: torch.Tensor, sigma: torch.Tensor, model_options: dict[str, Any]
                  ) -> torch.Tensor:
    """PREDICT_NOISE wrapper of LazyCache (``x`` is the noisy latent, the output the guided prediction)."""
    state = model_options["transformer_options"][KEY]
    if not isinstance(state, StepCacheState) or state.past_end(sigma):
        return executor(x, sigma, model_options)  # type: ignore[no-any-return]
    input_change = None
    if state.active(sigma):
        state.check_metadata(x, whole_shape=True)
        cached = "all" in state.diffs and state.diffs["all"].shape == x.shape
        if state.x_prev is not None:
            input_change = (_subsample(x) - state.x_prev).flatten().abs().mean()
            if cached and state.decide(input_change):
                state.skipped += 1
                return x + state.diffs["all"].to(x.device)
    output: torch.Tensor = executor(x, sigma, model_options)
    state.diffs["all"] = output - x
    state.learn(output, _subsample(output), input_change)
    state.x_prev = _subsample(x).clone()
    return output

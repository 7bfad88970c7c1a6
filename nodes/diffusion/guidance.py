"""The denoiser the samplers call: UNet + classifier-free guidance + areas + inpainting masks.

D(x, σ) returns the model's estimate of the clean (scaled) latent at noise level σ, combining the
positive and negative conditionings as ComfyUI does:
- each conditioning entry may cover an area (ConditioningSetArea) with a strength; predictions are
  summed with those weights and divided by the total weight per pixel;
- CFG: uncond + (cond − uncond) · cfg, skipping the negative pass when cfg is 1;
- with a noise mask, the unmasked part is pinned to the input latent (re-noised to σ on the way in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .schedules import DiscreteSchedule


@dataclass
class CondEntry:
    embedding: torch.Tensor  # [1, tokens, dim]
    pooled: torch.Tensor | None
    area: tuple[int, int, int, int] | None  # (h, w, y, x) in latent cells
    strength: float


def entries(conditioning: list[list[Any]]) -> list[CondEntry]:
    out = []
    for embedding, options in conditioning:
        area = options.get("area")
        out.append(CondEntry(embedding, options.get("pooled_output"),
                             tuple(int(v) for v in area) if area is not None and len(area) == 4 else None,  # type: ignore[arg-type]
                             float(options.get("strength", 1.0))))
    return out


class Denoiser:
    """Callable D(x, σ) over a diffusers UNet for the samplers."""

    def __init__(self, unet: Any, schedule: DiscreteSchedule, positive: list[list[Any]], negative: list[list[Any]],
                 cfg: float, sdxl: bool, image_size: tuple[int, int], noise_mask: torch.Tensor | None = None,
                 latent_image: torch.Tensor | None = None, noise: torch.Tensor | None = None) -> None:
        self.unet = unet
        self.schedule = schedule
        self.positive = entries(positive)
        self.negative = entries(negative)
        self.cfg = cfg
        self.sdxl = sdxl
        self.image_size = image_size  # (height, width) in pixels, for SDXL's size conditioning
        self.noise_mask = noise_mask
        self.latent_image = latent_image
        self.noise = noise
        parameter = next(unet.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype
        self.calls = 0
        self._contexts: dict[tuple[Any, ...], torch.Tensor] = {}

    # -- UNet passes -----------------------------------------------------------------------------------
    def _run(self, x: torch.Tensor, sigma: torch.Tensor, group: list[CondEntry], size: tuple[int, int]
             ) -> list[torch.Tensor]:
        """One UNet call for several entries that share x (batched, as diffusers pipelines batch CFG)."""
        n, batch = len(group), x.shape[0]
        x_in = self.schedule.model_input(sigma, x).repeat(n, *([1] * (x.ndim - 1)))
        sigmas = sigma.repeat(n)
        timestep = self.schedule.timestep(sigmas).float()
        context = self._context(group, batch)
        kwargs: dict[str, Any] = {}
        if self.sdxl:
            height, width = size
            pooled = torch.cat([(e.pooled if e.pooled is not None else torch.zeros(1, self._pooled_width()))
                                .to(self.device, self.dtype).expand(batch, -1) for e in group])
            time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=self.dtype, device=self.device)
            kwargs["added_cond_kwargs"] = {"text_embeds": pooled, "time_ids": time_ids.expand(n * batch, -1)}
        output = self.unet(x_in.to(self.device, self.dtype), timestep.to(self.device), encoder_hidden_states=context,
                           return_dict=False, **kwargs)[0]
        self.calls += 1
        denoised = self.schedule.denoised(sigmas, output.float().to(x.device), x.repeat(n, *([1] * (x.ndim - 1))))
        return list(denoised.chunk(n))

    def _context(self, group: list[CondEntry], batch: int) -> torch.Tensor:
        """The batched text embeddings of a group, built once per sampling run: they never change per step."""
        key = (tuple(id(e) for e in group), batch)
        context = self._contexts.get(key)
        if context is None:
            context = torch.cat([e.embedding.to(self.device, self.dtype).expand(batch, -1, -1) for e in group])
            self._contexts[key] = context
        return context

    def _pooled_width(self) -> int:
        config = self.unet.config
        return int(config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim)

    def _predictions(self, x: torch.Tensor, sigma: torch.Tensor, conds: list[CondEntry]
                     ) -> list[torch.Tensor | None]:
        """Predictions for every whole-image entry, batched by embedding shape (areas are done apart)."""
        results: list[torch.Tensor | None] = [None] * len(conds)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, entry in enumerate(conds):
            if entry.area is None:
                shape = (tuple(entry.embedding.shape), None if entry.pooled is None else tuple(entry.pooled.shape))
                groups.setdefault(shape, []).append(index)
        for indices in groups.values():
            for index, prediction in zip(indices, self._run(x, sigma, [conds[i] for i in indices], self.image_size),
                                         strict=True):
                results[index] = prediction
        return results

    def _combine(self, x: torch.Tensor, sigma: torch.Tensor, conds: list[CondEntry],
                 predictions: list[torch.Tensor | None]) -> torch.Tensor:
        """Weighted average of each entry's prediction over the area it covers."""
        if len(conds) == 1 and conds[0].area is None and conds[0].strength == 1.0:
            prediction = predictions[0]  # the usual case: one prompt over the whole image, nothing to average
            assert prediction is not None
            return prediction
        total = torch.zeros_like(x)
        weight = torch.zeros_like(x)
        for entry, prediction in zip(conds, predictions, strict=True):
            if entry.area is None:
                assert prediction is not None
                total += prediction * entry.strength
                weight += entry.strength
                continue
            h, w, y, x0 = entry.area
            h, w = min(h, x.shape[-2] - y), min(w, x.shape[-1] - x0)
            if h <= 0 or w <= 0:
                continue
            crop = x[..., y:y + h, x0:x0 + w]
            (area_prediction,) = self._run(crop, sigma, [entry], (h * 8, w * 8))
            total[..., y:y + h, x0:x0 + w] += area_prediction * entry.strength
            weight[..., y:y + h, x0:x0 + w] += entry.strength
        uncovered = weight == 0
        if uncovered.any():  # cells no conditioning covers keep the input latent
            total = torch.where(uncovered, x, total)
            weight = torch.where(uncovered, torch.ones_like(weight), weight)
        return total / weight

    # -- D(x, σ) --------------------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        mask = self.noise_mask
        if mask is not None:
            assert self.latent_image is not None and self.noise is not None
            pinned = self.schedule.noise_scaling(sigma, self.noise, self.latent_image, False)
            x = x * mask + pinned * (1 - mask)
        use_negative = not math.isclose(self.cfg, 1.0)
        conds = self.positive + (self.negative if use_negative else [])
        predictions = self._predictions(x, sigma, conds)
        count = len(self.positive)
        out = self._combine(x, sigma, self.positive, predictions[:count])
        if use_negative:
            uncond = self._combine(x, sigma, self.negative, predictions[count:])
            out = uncond + (out - uncond) * self.cfg
        if mask is not None:
            assert self.latent_image is not None
            out = out * mask + self.latent_image * (1 - mask)
        return out

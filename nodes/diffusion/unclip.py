"""unCLIP conditioning and style models: what unCLIPConditioning and StyleModelApply put into a conditioning,
and how the model reads it.

- unCLIP (ComfyUI's unclip_adm): each CLIP vision image embedding, noise-augmented to the entry's level on a
  squared-cosine schedule of 1000 steps (noise drawn from the run's seed − 10), is joined by the sinusoidal
  embedding of that level and weighed by its strength; several are summed and augmented once more (SD2.1
  unCLIP merges at 0.05). SD2.1 unCLIP UNets take the whole vector as their class embedding, SDXL takes its
  first 1280 values as the pooled text embedding ("revision"), scaled by the checkpoint's CLIP statistics
  where it has them.
- Flux Redux (``flux1-redux-dev.safetensors``): SigLIP's last hidden state through two linear layers with SiLU
  between, giving tokens appended to the text context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .state_dict import ModelFileError, describe

MAX_NOISE_LEVEL = 1000


@lru_cache(maxsize=1)
def _alphas_cumprod() -> torch.Tensor:
    """The squared-cosine schedule ("squaredcos_cap_v2") of 1000 steps, in float64 as ComfyUI computes it."""
    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / MAX_NOISE_LEVEL) / alpha_bar(i / MAX_NOISE_LEVEL), 0.999)
             for i in range(MAX_NOISE_LEVEL)]
    return torch.cumprod(1.0 - torch.tensor(betas, dtype=torch.float64), dim=0)


def timestep_embedding(level: torch.Tensor, dim: int) -> torch.Tensor:
    """The sinusoidal embedding ComfyUI's ``Timestep`` module gives a noise level (cos half first)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = level.float()[:, None] * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


@dataclass
class NoiseAugmentor:
    """ComfyUI's CLIPEmbeddingNoiseAugmentation: scale by the CLIP statistics, noise to a level, unscale."""

    dim: int
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor, level: int, seed: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.mean if self.mean is not None else torch.zeros(self.dim)
        std = self.std if self.std is not None else torch.ones(self.dim)
        x = (x.float() - mean) / std
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        noise = torch.randn(x.shape, generator=generator)
        cumprod = _alphas_cumprod()[level]
        z = x * float(cumprod.sqrt()) + noise * float((1 - cumprod).sqrt())
        return z * std + mean, timestep_embedding(torch.tensor([level]), self.dim)


def unclip_adm(unclip_conditioning: list[dict[str, Any]], augmentor: NoiseAugmentor, merge_augment: float = 0.0,
               seed: int | None = None) -> torch.Tensor:
    """ComfyUI's unclip_adm: the augmented, weighted image embeddings with their noise level embeddings."""
    parts, count = [], 0
    out = torch.zeros(0)
    for entry in unclip_conditioning:
        for embedding in entry["clip_vision_output"].image_embeds:
            level = round((MAX_NOISE_LEVEL - 1) * float(entry["noise_augmentation"]))
            c_adm, level_embedding = augmentor(embedding[None], level, seed)
            out = torch.cat((c_adm, level_embedding), 1) * float(entry["strength"])
            parts.append(out)
            count += 1
    if count > 1:
        summed = torch.stack(parts).sum(0)
        level = round((MAX_NOISE_LEVEL - 1) * merge_augment)
        c_adm, level_embedding = augmentor(summed[:, :augmentor.dim], level, None)
        out = torch.cat((c_adm, level_embedding), 1)
    return out


class ReduxImageEncoder(nn.Module):
    """Flux Redux's projection of SigLIP features into Flux's text space."""

    def __init__(self, config: dict[str, int]) -> None:
        super().__init__()
        self.config = config
        self.redux_up = nn.Linear(config["redux_dim"], config["txt_in_features"] * 3)
        self.redux_down = nn.Linear(config["txt_in_features"] * 3, config["txt_in_features"])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.redux_down(nn.functional.silu(self.redux_up(features)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class StyleModel:
    """STYLE_MODEL: a loaded style model (weights in the model manager under ``key``)."""

    manager: Any = field(repr=False, compare=False)
    key: Any
    kind: str = "redux"

    def cache_nbytes(self) -> int:
        return 64

    def get_cond(self, clip_vision_output: Any) -> torch.Tensor:
        """The tokens for an image's CLIP vision output (ComfyUI's StyleModel.get_cond)."""
        with self.manager.use(self.key) as (model,):
            weight = model.redux_up.weight
            with torch.no_grad():
                return model(clip_vision_output.last_hidden_state.to(weight.device, weight.dtype)).float().cpu()


def load_style_model(manager: Any, path: Path) -> StyleModel:
    from inkgraph.engine.core.devices import torch_dtype

    from .state_dict import compute_cast, index_file, read_state_dict
    from .weights import assemble

    index = index_file(path)
    if "style_embedding" in index:
        raise ModelFileError(f"{path.name} is a T2I-Adapter style model, which is not supported yet")
    if "redux_down.weight" not in index:
        raise ModelFileError(f"{path.name} holds no style model Inkgraph knows ({describe(index)})")
    dtype_name = manager.policy.dtype
    key = ("style_model", str(path), path.stat().st_mtime_ns, dtype_name)
    if key not in manager:
        dtype = torch_dtype(dtype_name)
        tensors, _ = read_state_dict(path, cast=compute_cast(dtype))
        config = {"redux_dim": index["redux_up.weight"].shape[1],
                  "txt_in_features": index["redux_down.weight"].shape[0]}
        manager.add(key, assemble(ReduxImageEncoder, config, tensors, dtype, "Redux model", path.name))
    return StyleModel(manager, key)

"""Image encoders (ComfyUI's CLIP_VISION): OpenAI/LAION CLIP vision towers (ViT-L, ViT-H, ViT-bigG, 224 or 336
pixels) and SigLIP (Flux Redux's ``sigclip_vision_patch14_384``), as transformers' CLIPVisionModelWithProjection
and SiglipVisionModel.

Files come in transformers' layout (``vision_model.encoder.layers.N…``, ``visual_projection``) or open_clip's
(``visual.transformer.resblocks.N…``, with a prefix inside checkpoints: ``embedder.model.visual.`` in SD2.1
unCLIP, ``conditioner.embedders.0.open_clip.model.visual.`` in SVD); the architecture is read from the shapes.
Encoding follows ComfyUI's clip_preprocess — the shorter side scaled to the model's size (bicubic, antialiased)
and the centre cropped, or the whole image squashed to a square ("none"), quantised to 8 bits, normalised — and
gives its CLIP_VISION_OUTPUT: ``last_hidden_state``, ``image_embeds``, ``penultimate_hidden_states`` (and
``all_hidden_states`` for SigLIP).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .state_dict import ModelFileError, TensorIndex, block_count, describe

CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
HEADS = {768: 12, 1024: 16, 1152: 16, 1280: 16, 1664: 16}  # the released towers' heads by width
OPEN_CLIP_PREFIXES = ("visual.", "embedder.model.visual.", "conditioner.embedders.0.open_clip.model.visual.")


@dataclass
class VisionDetected:
    kind: str  # "clip" or "siglip"
    config: dict[str, Any]
    prefix: str
    layout: str  # "transformers" or "open_clip"
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str = ""


def find(index: TensorIndex, name: str = "") -> VisionDetected:
    """The image encoder of a file (alone or inside a checkpoint); a clear error when there is none."""
    prefix = index.prefix_of("vision_model.encoder.layers.0.layer_norm1.weight")
    if prefix is not None:
        return _transformers(index, prefix, name)
    for prefix in OPEN_CLIP_PREFIXES:
        if prefix + "transformer.resblocks.0.attn.in_proj_weight" in index:
            return _open_clip(index, prefix, name)
    raise ModelFileError(f"{name or 'the file'} holds no CLIP vision model Inkgraph knows ({describe(index)})")


def _heads(width: int) -> int:
    return HEADS.get(width, max(1, width // 64))


def _transformers(index: TensorIndex, prefix: str, name: str) -> VisionDetected:
    p = prefix + "vision_model."
    width = index[p + "encoder.layers.0.layer_norm1.weight"].shape[0]
    patch = index[p + "embeddings.patch_embedding.weight"].shape[-1]
    positions = index[p + "embeddings.position_embedding.weight"].shape[0]
    layers = block_count({k[len(p):]: None for k in index if k.startswith(p)}, "encoder.layers.")
    config: dict[str, Any] = {"hidden_size": width, "num_hidden_layers": layers, "patch_size": patch,
                              "intermediate_size": index[p + "encoder.layers.0.mlp.fc1.weight"].shape[0],
                              "num_attention_heads": _heads(width)}
    if p + "embeddings.class_embedding" in index:  # CLIP: a class token before the patches
        size = math.isqrt(positions - 1) * patch
        projection = index.shape(prefix + "visual_projection.weight")
        config.update(image_size=size, projection_dim=projection[0] if projection else width,
                      hidden_act="quick_gelu" if width == 1024 and layers == 24 else "gelu", layer_norm_eps=1e-5)
        return VisionDetected("clip", config, prefix, "transformers", size, CLIP_MEAN, CLIP_STD, name)
    size = math.isqrt(positions) * patch
    config.update(image_size=size, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                  vision_use_head=p + "head.probe" in index, num_attention_heads=_heads(width))
    return VisionDetected("siglip", config, prefix, "transformers", size, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), name)


def _open_clip(index: TensorIndex, prefix: str, name: str) -> VisionDetected:
    width = index[prefix + "ln_pre.weight"].shape[0]
    patch = index[prefix + "conv1.weight"].shape[-1]
    positions = index[prefix + "positional_embedding"].shape[0]
    layers = block_count({k[len(prefix):]: None for k in index if k.startswith(prefix)}, "transformer.resblocks.")
    size = math.isqrt(positions - 1) * patch
    projection = index.shape(prefix + "proj")
    config = {"hidden_size": width, "num_hidden_layers": layers, "patch_size": patch, "image_size": size,
              "intermediate_size": index[prefix + "transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
              "num_attention_heads": _heads(width), "projection_dim": projection[1] if projection else width,
              "hidden_act": "quick_gelu" if width == 1024 and layers == 24 else "gelu", "layer_norm_eps": 1e-5}
    return VisionDetected("clip", config, prefix, "open_clip", size, CLIP_MEAN, CLIP_STD, name)


def open_clip_to_transformers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """open_clip's visual tower (prefix removed) → transformers' CLIPVisionModelWithProjection names."""
    fixed = {"class_embedding": "vision_model.embeddings.class_embedding",
             "conv1.weight": "vision_model.embeddings.patch_embedding.weight",
             "positional_embedding": "vision_model.embeddings.position_embedding.weight",
             "ln_pre.weight": "vision_model.pre_layrnorm.weight", "ln_pre.bias": "vision_model.pre_layrnorm.bias",
             "ln_post.weight": "vision_model.post_layernorm.weight",
             "ln_post.bias": "vision_model.post_layernorm.bias"}
    parts = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
             "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key in fixed:
            out[fixed[key]] = value
        elif key == "proj":
            out["visual_projection.weight"] = value.t().contiguous()
        elif key.startswith("transformer.resblocks."):
            number, rest = key[len("transformer.resblocks."):].split(".", 1)
            target = f"vision_model.encoder.layers.{number}."
            module, _, param = rest.rpartition(".")
            if module == "attn" and param in ("in_proj_weight", "in_proj_bias"):
                for name, piece in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                    out[f"{target}self_attn.{name}.{param.removeprefix('in_proj_')}"] = piece
            elif module in parts:
                out[f"{target}{parts[module]}.{param}"] = value
    return out


def build(tensors: dict[str, torch.Tensor], detected: VisionDetected, dtype: torch.dtype) -> torch.nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, SiglipVisionConfig, SiglipVisionModel

    from .weights import assemble

    if detected.layout == "open_clip":
        tensors = open_clip_to_transformers(tensors)
    if detected.kind == "siglip":  # transformers keeps SigLIP's vision tower at the top (no "vision_model.")
        tensors = {k.removeprefix("vision_model."): v for k, v in tensors.items()}
        return assemble(SiglipVisionModel, SiglipVisionConfig(**detected.config), tensors, dtype,  # type: ignore[no-any-return]
                        "SigLIP vision model", detected.source)
    if "visual_projection.weight" not in tensors:  # no projection in the file: embeddings are the pooled output
        tensors = {**tensors, "visual_projection.weight": torch.eye(detected.config["hidden_size"])}
    return assemble(CLIPVisionModelWithProjection, CLIPVisionConfig(**detected.config), tensors, dtype,  # type: ignore[no-any-return]
                    "CLIP vision model", detected.source)


def preprocess(image: torch.Tensor, size: int, mean: tuple[float, ...], std: tuple[float, ...],
               crop: bool = True) -> torch.Tensor:
    """ComfyUI's clip_preprocess: IMAGE [B, H, W, C] → normalised pixels [B, 3, size, size]."""
    pixels = image[..., :3].movedim(-1, 1).float()
    if pixels.shape[2] != size or pixels.shape[3] != size:
        if crop:
            scale = size / min(pixels.shape[2], pixels.shape[3])
            target = (round(scale * pixels.shape[2]), round(scale * pixels.shape[3]))
        else:
            target = (size, size)
        pixels = torch.nn.functional.interpolate(pixels, size=target, mode="bicubic", antialias=True)
        top, left = (pixels.shape[2] - size) // 2, (pixels.shape[3] - size) // 2
        pixels = pixels[:, :, top:top + size, left:left + size]
    pixels = torch.clip(255.0 * pixels, 0, 255).round() / 255.0
    return (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


@dataclass
class ClipVisionOutput:
    """CLIP_VISION_OUTPUT: attribute and item access, as ComfyUI's ``Output`` (nodes that join or slice outputs,
    such as WanFirstLastFrameToVideo, build one from some of the fields)."""

    last_hidden_state: torch.Tensor | None = None
    image_embeds: torch.Tensor | None = None
    penultimate_hidden_states: torch.Tensor | None = None
    all_hidden_states: torch.Tensor | None = None  # SigLIP's, every layer stacked
    mm_projected: torch.Tensor | None = None
    image_sizes: list[Any] | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: str) -> bool:
        return getattr(self, key, None) is not None

    def cache_nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in vars(self).values() if isinstance(v, torch.Tensor))


@dataclass(frozen=True)
class ClipVisionHandle:
    """CLIP_VISION: an image encoder whose weights the model manager owns."""

    manager: Any = field(repr=False, compare=False)
    key: Hashable
    detected: VisionDetected = field(compare=False)

    def cache_nbytes(self) -> int:
        return 64

    @property
    def image_size(self) -> int:
        return self.detected.image_size

    def encode_image(self, image: torch.Tensor, crop: bool = True) -> ClipVisionOutput:
        detected = self.detected
        with self.manager.use(self.key) as (model,):
            parameter = next(model.parameters())
            pixels = preprocess(image, detected.image_size, detected.mean, detected.std, crop)
            with torch.no_grad():
                out = model(pixel_values=pixels.to(parameter.device, parameter.dtype), output_hidden_states=True)
        found = ClipVisionOutput()
        hidden = [h.float().cpu() for h in out.hidden_states]
        found.last_hidden_state = out.last_hidden_state.float().cpu()
        found.penultimate_hidden_states = hidden[-2]
        if detected.kind == "siglip":
            found.all_hidden_states = torch.stack(hidden[1:], dim=1)
            pooled = getattr(out, "pooler_output", None)
            found.image_embeds = (pooled if pooled is not None else out.last_hidden_state[:, 0]).float().cpu()
        else:
            found.image_embeds = out.image_embeds.float().cpu()
        found.image_sizes = [(int(image.shape[1]), int(image.shape[2]))] * int(image.shape[0])
        found.mm_projected = None
        return found


def load(manager: Any, path: Path, detected: VisionDetected | None = None) -> ClipVisionHandle:
    """The image encoder of a file (CLIPVisionLoader, or the one inside a checkpoint), loaded once."""
    from inkgraph.engine.core.devices import torch_dtype

    from .state_dict import compute_cast, index_file, read_state_dict

    if detected is None:
        detected = find(index_file(path), path.name)
    dtype_name = manager.policy.dtype
    key = ("clip_vision", str(path), path.stat().st_mtime_ns, detected.prefix, dtype_name)
    if key not in manager:
        prefix = detected.prefix
        dtype = torch_dtype(dtype_name)
        wanted = "visual_projection." if detected.layout == "transformers" else "\0"
        tensors, _ = read_state_dict(path, keys=lambda k: k.startswith(prefix) and (
            detected.layout == "open_clip" or k.startswith(prefix + "vision_model.") or k.startswith(prefix + wanted)),
            cast=compute_cast(dtype), strip=prefix)
        manager.add(key, build(tensors, detected, dtype).eval().requires_grad_(False))
    return ClipVisionHandle(manager, key, detected)

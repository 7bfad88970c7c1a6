"""CLIP vision encoders (``models/clip_vision``: ComfyUI's ``clip_vision_h.safetensors`` — OpenCLIP ViT-H/14,
which Wan 2.1's I2V/FLF2V/Fun models and HunyuanVideo's I2V read — ViT-L/14 and ViT-bigG/14) in
transformers' CLIPVisionModelWithProjection layout (``vision_model.…``, ``visual_projection.weight``), as
ComfyUI's ``comfy.clip_vision``.

This is the minimal encoder kind the video models need (the issue that builds ComfyUI's full CLIP vision
support — unCLIP, IP-Adapter, style models — may replace it). The architecture is read from the tensors
(width, depth, MLP width, patch and image size; 16 heads as every CLIP ViT ComfyUI loads; quick-GELU for
OpenAI's ViT-L, GELU for the OpenCLIP ones). Images are prepared as ComfyUI's ``clip_preprocess``: resized
(bicubic, antialiased) so the short side fits and centre-cropped, or squashed to the square without
``crop``, quantised to 8 bits, normalised with CLIP's mean and std.

SigLIP towers (ComfyUI's ``sigclip_vision_patch14_384.safetensors``, which HunyuanVideo 1.5's I2V reads) are
told apart as ComfyUI tells them: no class token (a square number of positions) and no pre-norm; they are
built as transformers' SiglipVisionModel (GELU-tanh, 1e-6 norms, 72-wide heads), normalised with mean and std
0.5, and their last hidden state is every token after the final norm, as ComfyUI's (its image embedding
too: SigLIP has no projection there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .state_dict import ModelFileError, TensorIndex, block_count, describe, index_file, read_state_dict

PREFIX = "vision_model."
MARKER = "vision_model.embeddings.patch_embedding.weight"
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
HEADS = 16
SIGLIP_HEAD = 72  # SigLIP so400m's 1,152 = 16 heads of 72
SIGLIP_MEAN = SIGLIP_STD = (0.5, 0.5, 0.5)


@dataclass
class ClipVisionOutput:
    """CLIP_VISION_OUTPUT: what ComfyUI's ``clip_vision.Output`` holds, by attribute or by key."""

    last_hidden_state: torch.Tensor | None = None
    image_embeds: torch.Tensor | None = None
    penultimate_hidden_states: torch.Tensor | None = None
    mm_projected: torch.Tensor | None = None
    image_sizes: list[tuple[int, int]] | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def cache_nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.last_hidden_state, self.image_embeds,
                                                           self.penultimate_hidden_states, self.mm_projected)
                   if isinstance(t, torch.Tensor))


def read_config(index: TensorIndex, name: str = "") -> dict[str, Any]:
    """A transformers CLIPVisionConfig's fields from the shapes."""
    prefix = index.prefix_of(MARKER)
    if prefix is None:
        raise ModelFileError(f"{name or 'the file'} holds no CLIP vision model Inkgraph reads (transformers' "
                             f"vision_model.… layout; found {describe(index)})")
    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    width, _, patch, _ = index[prefix + MARKER].shape
    positions = index[prefix + "vision_model.embeddings.position_embedding.weight"].shape[0]
    layers = block_count(keys, "vision_model.encoder.layers.")
    if math.isqrt(positions) ** 2 == positions and prefix + "vision_model.pre_layrnorm.weight" not in index:
        return {"prefix": prefix, "siglip": True, "hidden_size": width, "patch_size": patch,
                "image_size": math.isqrt(positions) * patch, "num_hidden_layers": layers,
                "intermediate_size": index[prefix + "vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0],
                "num_attention_heads": max(1, width // SIGLIP_HEAD), "hidden_act": "gelu_pytorch_tanh",
                "layer_norm_eps": 1e-6, "vision_use_head": prefix + "vision_model.head.probe" in index}
    projection = index.shape(prefix + "visual_projection.weight")
    return {"prefix": prefix, "hidden_size": width, "patch_size": patch,
            "image_size": math.isqrt(positions - 1) * patch, "num_hidden_layers": layers,
            "intermediate_size": index[prefix + "vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0],
            "num_attention_heads": HEADS if width % HEADS == 0 else 1,
            "projection_dim": projection[0] if projection is not None else width,
            "hidden_act": "quick_gelu" if (width, layers) == (1024, 24) else "gelu", "layer_norm_eps": 1e-5}


def load(path: Path, dtype: torch.dtype) -> Any:
    """A CLIP vision file as CLIPVisionModelWithProjection (an identity projection when the file has none)."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from .weights import assemble

    index = index_file(path)
    config = read_config(index, path.name)
    prefix = config.pop("prefix")
    owned = (lambda key: key.startswith(prefix)) if prefix else None
    state, _ = read_state_dict(path, keys=owned, strip=prefix)
    if config.pop("siglip", False):
        return _load_siglip(config, state, dtype, path.name)
    if "visual_projection.weight" not in state:
        state["visual_projection.weight"] = torch.eye(config["hidden_size"])
    model = assemble(CLIPVisionModelWithProjection, CLIPVisionConfig(**config), state, dtype, "CLIP vision model",
                     path.name)
    return model.eval().requires_grad_(False)


def _load_siglip(config: dict[str, Any], state: dict[str, torch.Tensor], dtype: torch.dtype, name: str) -> Any:
    from transformers import SiglipVisionConfig, SiglipVisionModel

    from .weights import assemble

    prefixed = {("vision_model." + k if not k.startswith("vision_model.") else k): v for k, v in state.items()}
    model = assemble(SiglipVisionModel, SiglipVisionConfig(**config), _siglip_names(prefixed), dtype,
                     "SigLIP vision model", name)
    return model.eval().requires_grad_(False)


def _siglip_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The file's ``vision_model.…`` keys as this transformers version's SiglipVisionModel names them."""
    from transformers import SiglipVisionConfig, SiglipVisionModel

    with torch.device("meta"):
        names = set(SiglipVisionModel(SiglipVisionConfig(hidden_size=8, intermediate_size=8, num_hidden_layers=1,
                                                         num_attention_heads=1)).state_dict())
    if any(k.startswith("vision_model.") for k in names):
        return state
    return {k.removeprefix("vision_model."): v for k, v in state.items()}


def is_siglip(model: Any) -> bool:
    return type(model).__name__ == "SiglipVisionModel"


def preprocess(image: torch.Tensor, size: int, crop: bool = True, mean: tuple[float, ...] = MEAN,
               std: tuple[float, ...] = STD) -> torch.Tensor:
    """IMAGE [B, H, W, C] → CLIP's pixel values [B, 3, size, size] (ComfyUI's clip_preprocess)."""
    pixels = image[..., :3].movedim(-1, 1).float()
    if pixels.shape[2] != size or pixels.shape[3] != size:
        if crop:
            scale = size / min(pixels.shape[2], pixels.shape[3])
            target = (round(scale * pixels.shape[2]), round(scale * pixels.shape[3]))
        else:
            target = (size, size)
        pixels = F.interpolate(pixels, size=target, mode="bicubic", antialias=True)
        top, left = (pixels.shape[2] - size) // 2, (pixels.shape[3] - size) // 2
        pixels = pixels[:, :, top:top + size, left:left + size]
    pixels = torch.clip(255.0 * pixels, 0, 255).round() / 255.0
    return (pixels - torch.tensor(mean, dtype=pixels.dtype).view(1, 3, 1, 1)) / torch.tensor(
        std, dtype=pixels.dtype).view(1, 3, 1, 1)


def encode(model: Any, image: torch.Tensor, crop: bool = True) -> ClipVisionOutput:
    """ComfyUI's ``encode_image``: the last layer's states, the projected image embedding and the states of
    the layer before the last (what Wan reads), all float32 on the CPU."""
    parameter = next(model.parameters())
    siglip = is_siglip(model)
    normal = (SIGLIP_MEAN, SIGLIP_STD) if siglip else (MEAN, STD)
    pixels = preprocess(image.cpu(), int(model.config.image_size), crop, *normal).to(parameter.device,
                                                                                       parameter.dtype)
    out = model(pixel_values=pixels, output_hidden_states=True)
    if siglip:
        last = out.last_hidden_state.float().cpu()
        return ClipVisionOutput(last_hidden_state=last, image_embeds=last,
                                penultimate_hidden_states=out.hidden_states[-2].float().cpu(),
                                image_sizes=[(int(image.shape[1]), int(image.shape[2]))] * int(image.shape[0]))
    return ClipVisionOutput(last_hidden_state=out.last_hidden_state.float().cpu(),
                            image_embeds=out.image_embeds.float().cpu(),
                            penultimate_hidden_states=out.hidden_states[-2].float().cpu(),
                            image_sizes=[(int(image.shape[1]), int(image.shape[2]))] * int(image.shape[0]))

"""Qwen2.5-VL as a text encoder: the 7B of Qwen-Image (``qwen_2.5_vl_7b_fp8_scaled.safetensors``) and the 3B
of OmniGen2 (``qwen_2.5_vl_fp16.safetensors``), with the vision tower the Edit models read images with; as
transformers' Qwen2_5_VLModel (or its text model alone, for a file without the tower).

ComfyUI's files hold the language model under ``model.`` (``model.layers.N.self_attn.q_proj`` with biases,
``model.embed_tokens``, ``model.norm``), the vision tower under ``visual.`` (``patch_embed.proj``,
``blocks.N.attn.qkv``, ``merger.mlp.0`` …) and sometimes ``lm_head.weight`` (not needed to encode). The
architecture is read from the tensors: width, depth, MLP width, vocabulary, key/value heads, and the tower's
width, depth and output width. Heads are 128 wide as in every released Qwen2.5 (test models whose widths
are not multiples of 128 have one key/value head). Qwen3 has q/k norms and no q/k/v biases, Llama no biases:
those files are not this kind's.

Images are prepared as ComfyUI's ``process_qwen2vl_images``: resized (bilinear) to multiples of 28 pixels
within 3,136 … 12,845,056 pixels, normalised with CLIP's mean and deviation, cut into 14×14 patches over
two identical frames; each ``<|image_pad|>`` token of the prompt becomes the tower's (h/28)·(w/28) merged
patches, and the model's own 3-D rotary positions follow (as ComfyUI's).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F  # noqa: N812

from ..state_dict import TensorIndex, block_count
from .base import EncoderDetected, EncoderKind

TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "configs" / "qwen25_tokenizer"
MARKER = "model.layers.0.self_attn.q_proj.bias"
IMAGE_PAD = 151655
PATCH, TEMPORAL, MERGE = 14, 2, 2
MIN_PIXELS, MAX_PIXELS = 3136, 12845056
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
HEAD_DIM, VISION_HEAD_DIM = 128, 80
# the released sizes: width → (query heads, key/value heads)
KNOWN = {3584: (28, 4), 2048: (16, 2)}


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any] | None:
    """Qwen2_5_VLConfig fields (text_config, vision_config or None) of the model under ``prefix``."""
    if prefix + MARKER not in index or prefix + "model.layers.0.self_attn.q_norm.weight" in index:
        return None  # Qwen3 has per-head q/k norms
    if prefix + "model.layers.0.self_attn.q_proj.bias" not in index:
        return None  # Qwen2.5's attention has biases; Llama, Mistral and Gemma decoders have none

    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    vocab, width = shape("model.embed_tokens.weight")
    q_rows = shape("model.layers.0.self_attn.q_proj.weight")[0]
    k_rows = shape("model.layers.0.self_attn.k_proj.weight")[0]
    if width in KNOWN:
        heads, kv_heads = KNOWN[width]
    elif q_rows % HEAD_DIM == 0 and k_rows % HEAD_DIM == 0:
        heads, kv_heads = q_rows // HEAD_DIM, k_rows // HEAD_DIM
    else:
        heads, kv_heads = q_rows // k_rows, 1
    head_dim = q_rows // heads
    text = {"vocab_size": vocab, "hidden_size": width, "num_hidden_layers": block_count(keys, "model.layers."),
            "intermediate_size": shape("model.layers.0.mlp.gate_proj.weight")[0], "num_attention_heads": heads,
            "num_key_value_heads": kv_heads, "rms_norm_eps": 1e-6, "max_position_embeddings": 128000,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                                "mrope_section": [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16]}}
    vision = None
    if "visual.patch_embed.proj.weight" in keys:
        hidden = shape("visual.patch_embed.proj.weight")[0]
        depth = block_count(keys, "visual.blocks.")
        vision = {"depth": depth, "hidden_size": hidden,
                  "intermediate_size": shape("visual.blocks.0.mlp.gate_proj.weight")[0],
                  "num_heads": max(1, hidden // VISION_HEAD_DIM),
                  "out_hidden_size": shape("visual.merger.mlp.2.weight")[0],
                  "patch_size": PATCH, "temporal_patch_size": TEMPORAL, "spatial_merge_size": MERGE,
                  "window_size": 112, "fullatt_block_indexes": [i for i in (7, 15, 23, 31) if i < depth]}
    return {"text_config": text, "vision_config": vision}


class Qwen25VL(EncoderKind):
    """Qwen2.5-VL 7B (Qwen-Image); widths other than 2,048 (the 3B's) are read as this kind."""

    name: ClassVar[str] = "qwen25_7b"

    def matches(self, width: int) -> bool:
        return width != 2048

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or not self.matches(int(config["text_config"]["hidden_size"])):
            return None
        return EncoderDetected(self, prefix, config)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from ..weights import apply_scales, assemble

        text, vision = detected.config["text_config"], detected.config["vision_config"]
        state: dict[str, torch.Tensor] = {}
        scales: dict[str, torch.Tensor] = {}
        if vision is not None:
            from transformers import Qwen2_5_VLConfig, Qwen2_5_VLModel

            cls: Any = Qwen2_5_VLModel
            config: Any = Qwen2_5_VLConfig(text_config=text, vision_config=vision, use_cache=False)
            rename = {"model.": "language_model.", "visual.": "visual."}
        else:
            from transformers import Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel

            cls, config = Qwen2_5_VLTextModel, Qwen2_5_VLTextConfig(**text, use_cache=False)
            rename = {"model.": ""}
        for source, target in ((tensors, state), (detected.scales, scales)):
            for key, value in source.items():
                for old, new in rename.items():
                    if key.startswith(old):
                        target[new + key[len(old):]] = value
                        break
        model = assemble(cls, config, state, dtype, "Qwen2.5-VL text encoder", detected.source)
        if scales:
            apply_scales(model, scales)
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        return qwen_tokenizer()


class Qwen25VL3B(Qwen25VL):
    """Qwen2.5-VL 3B (OmniGen2)."""

    name: ClassVar[str] = "qwen25_3b"

    def matches(self, width: int) -> bool:
        return width == 2048


@cache
def qwen_tokenizer() -> Any:
    """Qwen2.5's byte-level BPE tokenizer (shared by Qwen2.5-VL and Qwen3), shipped in the package."""
    from transformers import Qwen2TokenizerFast  # type: ignore[attr-defined]

    return Qwen2TokenizerFast.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)


def prepare_image(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An IMAGE [B, H, W, C] (its first picture) → (patches [t·h·w, 3·2·14·14], grid [[1, h, w]]) as ComfyUI's
    process_qwen2vl_images prepares it for the vision tower."""
    picture = image[0, ..., :3].movedim(-1, 0).float()
    height, width = picture.shape[-2:]
    factor = PATCH * MERGE
    h_bar, w_bar = round(height / factor) * factor, round(width / factor) * factor
    if h_bar * w_bar > MAX_PIXELS:
        beta = math.sqrt(height * width / MAX_PIXELS)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < MIN_PIXELS:
        beta = math.sqrt(MIN_PIXELS / (height * width))
        h_bar, w_bar = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    resized = F.interpolate(picture[None], size=(h_bar, w_bar), mode="bilinear", align_corners=False)[0]
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    normalized = (resized - mean) / std
    grid_h, grid_w = h_bar // PATCH, w_bar // PATCH
    frames = normalized[None].repeat(TEMPORAL, 1, 1, 1)
    patches = frames.reshape(1, TEMPORAL, 3, grid_h // MERGE, MERGE, PATCH, grid_w // MERGE, MERGE, PATCH)
    patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = patches.reshape(grid_h * grid_w, 3 * TEMPORAL * PATCH * PATCH)
    return flat, torch.tensor([[1, grid_h, grid_w]], dtype=torch.long)


def model_inputs(model: Any, ids: list[int], images: list[torch.Tensor] | tuple[()] = ()) -> dict[str, Any]:
    """The model's keyword arguments for a prompt's token ids: the i-th ``<|image_pad|>`` becomes the i-th
    image's merged patches (``input_ids`` expanded, ``pixel_values`` and ``image_grid_thw`` for the tower)."""
    device = next(model.parameters()).device
    pads = [i for i, token in enumerate(ids) if token == IMAGE_PAD]
    kwargs: dict[str, Any] = {}
    used = images[:len(pads)]
    if used:
        if not hasattr(model, "visual"):
            raise ValueError("this Qwen2.5-VL file has no vision tower (visual.*); it cannot read images")
        prepared = [prepare_image(image) for image in used]
        grids = torch.cat([grid for _, grid in prepared])
        expanded: list[int] = []
        count = iter(int(g.prod()) // (MERGE * MERGE) for g in grids)
        seen = 0
        for token in ids:
            if token == IMAGE_PAD and seen < len(used):
                expanded += [IMAGE_PAD] * next(count)
                seen += 1
            else:
                expanded.append(token)
        ids = expanded
        dtype = next(model.visual.parameters()).dtype
        kwargs.update(pixel_values=torch.cat([p for p, _ in prepared]).to(device, dtype),
                      image_grid_thw=grids.to(device))
    kwargs["input_ids"] = torch.tensor([ids], dtype=torch.long, device=device)
    return kwargs


def run(model: Any, ids: list[int], images: list[torch.Tensor] | tuple[()] = (), layers: tuple[int, ...] = ()
        ) -> torch.Tensor:
    """Hidden states [1, T, D] (float32, CPU) of a prompt's token ids: the last layer with the final norm, or
    ``layers`` (transformers' numbering: the input of layer i) concatenated along the width. The i-th
    ``<|image_pad|>`` becomes the i-th image's merged patches."""
    out = model(**model_inputs(model, ids, images), output_hidden_states=bool(layers), use_cache=False)
    if layers:
        hidden = torch.cat([out.hidden_states[i] for i in layers], dim=-1)
    else:
        hidden = out.last_hidden_state
    return hidden.float().cpu()  # type: ignore[no-any-return]

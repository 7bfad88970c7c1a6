"""Black Forest Labs' key layout (Flux.1 and Chroma single files) and diffusers' module names for it.

One table says, for each module of the original layout, which diffusers modules it becomes and which rows
of its weight each one takes (Flux fuses q, k, v — and in single blocks the MLP input too — into one
linear layer; diffusers keeps them apart). The same table converts the weights, the scaled-fp8 scales and
the LoRA keys written against the original names (kohya's ``lora_unet_double_blocks_0_img_attn_qkv``,
ComfyUI's ``diffusion_model.double_blocks.0.img_attn.qkv``).

diffusers' own converters (``convert_flux_transformer_checkpoint_to_diffusers`` …) assume the full-size
width (3072) when they split the single blocks, so they cannot read other widths; the names below are
theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..state_dict import ModelFileError


@dataclass(frozen=True)
class Target:
    """Where (part of) an original module goes: a diffusers module, the rows it takes, whether the two
    halves of its rows swap (BFL's final modulation is shift, scale; diffusers' is scale, shift)."""

    module: str
    rows: tuple[int, int] | None = None
    swap: bool = False


Table = dict[str, list[Target]]


def _embedder(table: Table, original: str, target: str) -> None:
    table[f"{original}.in_layer"] = [Target(f"{target}.linear_1")]
    table[f"{original}.out_layer"] = [Target(f"{target}.linear_2")]


def table(config: dict[str, Any], chroma: bool = False) -> Table:
    """Original module name → its diffusers targets, for a Flux (or Chroma) transformer config."""
    width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
    q, k, v = (0, width), (width, 2 * width), (2 * width, 3 * width)
    out: Table = {"txt_in": [Target("context_embedder")], "img_in": [Target("x_embedder")],
                  "final_layer.linear": [Target("proj_out")]}
    if chroma:
        out["distilled_guidance_layer.in_proj"] = [Target("distilled_guidance_layer.in_proj")]
        out["distilled_guidance_layer.out_proj"] = [Target("distilled_guidance_layer.out_proj")]
        for i in range(int(config["approximator_layers"])):
            _embedder(out, f"distilled_guidance_layer.layers.{i}", f"distilled_guidance_layer.layers.{i}")
            out[f"distilled_guidance_layer.norms.{i}"] = [Target(f"distilled_guidance_layer.norms.{i}")]
    else:
        _embedder(out, "time_in", "time_text_embed.timestep_embedder")
        _embedder(out, "vector_in", "time_text_embed.text_embedder")
        if config.get("guidance_embeds"):
            _embedder(out, "guidance_in", "time_text_embed.guidance_embedder")
        out["final_layer.adaLN_modulation.1"] = [Target("norm_out.linear", swap=True)]
    for i in range(int(config["num_layers"])):
        src, dst = f"double_blocks.{i}.", f"transformer_blocks.{i}."
        out[src + "img_attn.qkv"] = [Target(dst + "attn.to_q", q), Target(dst + "attn.to_k", k),
                                     Target(dst + "attn.to_v", v)]
        out[src + "txt_attn.qkv"] = [Target(dst + "attn.add_q_proj", q), Target(dst + "attn.add_k_proj", k),
                                     Target(dst + "attn.add_v_proj", v)]
        for name, target in (("img_attn.norm.query_norm", "attn.norm_q"), ("img_attn.norm.key_norm", "attn.norm_k"),
                             ("txt_attn.norm.query_norm", "attn.norm_added_q"),
                             ("txt_attn.norm.key_norm", "attn.norm_added_k"),
                             ("img_attn.proj", "attn.to_out.0"), ("txt_attn.proj", "attn.to_add_out"),
                             ("img_mlp.0", "ff.net.0.proj"), ("img_mlp.2", "ff.net.2"),
                             ("txt_mlp.0", "ff_context.net.0.proj"), ("txt_mlp.2", "ff_context.net.2")):
            out[src + name] = [Target(dst + target)]
        if not chroma:
            out[src + "img_mod.lin"] = [Target(dst + "norm1.linear")]
            out[src + "txt_mod.lin"] = [Target(dst + "norm1_context.linear")]
    mlp = (3 * width, 3 * width + 4 * width)
    for i in range(int(config["num_single_layers"])):
        src, dst = f"single_blocks.{i}.", f"single_transformer_blocks.{i}."
        out[src + "linear1"] = [Target(dst + "attn.to_q", q), Target(dst + "attn.to_k", k),
                                Target(dst + "attn.to_v", v), Target(dst + "proj_mlp", mlp)]
        out[src + "linear2"] = [Target(dst + "proj_out")]
        out[src + "norm.query_norm"] = [Target(dst + "attn.norm_q")]
        out[src + "norm.key_norm"] = [Target(dst + "attn.norm_k")]
        if not chroma:
            out[src + "modulation.lin"] = [Target(dst + "norm.linear")]
    return out


def _part(tensor: torch.Tensor, target: Target) -> torch.Tensor:
    if target.rows is not None:
        tensor = tensor[target.rows[0]:target.rows[1]]
    if target.swap:
        shift, scale = tensor.chunk(2, dim=0)
        tensor = torch.cat([scale, shift], dim=0)
    return tensor


def to_diffusers(state: dict[str, torch.Tensor], mapping: Table, source: str = "") -> dict[str, torch.Tensor]:
    """Original-layout weights → diffusers' keys (norm ``scale`` parameters become ``weight``)."""
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, tensor in state.items():
        module, _, param = key.rpartition(".")
        targets = mapping.get(module)
        if targets is None:
            unknown.append(key)
            continue
        name = "weight" if param == "scale" else param
        for target in targets:
            out[f"{target.module}.{name}"] = _part(tensor, target)
    if unknown:
        raise ModelFileError(f"{source + ': ' if source else ''}{len(unknown)} tensors this layout does not have, "
                             f"e.g. {unknown[0]}; the file may be of another model")
    return out


def scales_to_diffusers(scales: dict[str, torch.Tensor], mapping: Table) -> dict[str, torch.Tensor]:
    """Scaled-fp8 scales by original module → by diffusers module (a fused layer's scale serves each part)."""
    return {target.module: scale for module, scale in scales.items() for target in mapping.get(module, [])}


def lora_names(mapping: Table) -> dict[str, list[tuple[str, tuple[int, int] | None]]]:
    """LoRA names (flattened with underscores, as kohya writes them) → (diffusers module, rows) to patch."""
    return {module.replace(".", "_"): [(t.module, t.rows) for t in targets] for module, targets in mapping.items()
            if not any(t.swap for t in targets)}


def _unswap(tensor: torch.Tensor) -> torch.Tensor:
    scale, shift = tensor.chunk(2, dim=0)
    return torch.cat([shift, scale], dim=0)


def to_original(state: dict[str, torch.Tensor], mapping: Table) -> dict[str, torch.Tensor]:
    """diffusers' keys → the original layout (ModelSave): fused layers joined row by row, BFL's (shift, scale)
    order restored, norm weights named ``scale``; keys the table does not name are left out."""
    out: dict[str, torch.Tensor] = {}
    for original, targets in mapping.items():
        for param in ("weight", "bias"):
            keys = [f"{t.module}.{param}" for t in targets]
            if not all(k in state for k in keys):
                continue
            parts = [_unswap(state[k]) if t.swap else state[k] for k, t in zip(keys, targets, strict=True)]
            norm = original.endswith(("query_norm", "key_norm")) or ".norms." in original
            out[f"{original}.{'scale' if norm else param}"] = torch.cat(parts, dim=0)
    return out


def original_names(mapping: Table) -> dict[str, str]:
    """diffusers parameter → the original module's parameter it comes from (for block-wise merge ratios)."""
    return {f"{t.module}.{param}": f"{original}.{param}" for original, targets in mapping.items() for t in targets
            for param in ("weight", "bias")}

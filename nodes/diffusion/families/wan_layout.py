"""Wan's original key layout (the Wan-Video repositories' and ComfyUI's ``wan2.1_*``/``wan2.2_*`` files) and
diffusers' names for it.

diffusers' single-file converter (``convert_wan_transformer_to_diffusers``) renames original keys to its
own by substring replacement; it misses FLF2V's image position table (``img_emb.emb_pos``), which is added
here. The inverse (:func:`to_original`) names a diffusers module the way the original files and the LoRAs
trained on them do (``blocks.0.self_attn.q``), so LoRAs such as the lightx2v step-distillation ones patch
the right layers; the tests write tiny files through it and read them back through diffusers' converter.
"""

from __future__ import annotations

import re

import torch

# diffusers name → original name, first match wins (module paths; parameters keep their own names except
# the modulation tables, which diffusers calls scale_shift_table)
_INVERSE: tuple[tuple[str, str], ...] = (
    (r"^condition_embedder\.time_embedder\.linear_1", "time_embedding.0"),
    (r"^condition_embedder\.time_embedder\.linear_2", "time_embedding.2"),
    (r"^condition_embedder\.text_embedder\.linear_1", "text_embedding.0"),
    (r"^condition_embedder\.text_embedder\.linear_2", "text_embedding.2"),
    (r"^condition_embedder\.time_proj", "time_projection.1"),
    (r"^condition_embedder\.image_embedder\.norm1", "img_emb.proj.0"),
    (r"^condition_embedder\.image_embedder\.ff\.net\.0\.proj", "img_emb.proj.1"),
    (r"^condition_embedder\.image_embedder\.ff\.net\.2", "img_emb.proj.3"),
    (r"^condition_embedder\.image_embedder\.norm2", "img_emb.proj.4"),
    (r"^condition_embedder\.image_embedder\.pos_embed$", "img_emb.emb_pos"),
    (r"^proj_out", "head.head"),
    (r"^scale_shift_table$", "head.modulation"),
    (r"^((?:vace_)?blocks\.\d+)\.attn1\.to_out\.0", r"\1.self_attn.o"),
    (r"^((?:vace_)?blocks\.\d+)\.attn1\.to_([qkv])", r"\1.self_attn.\2"),
    (r"^((?:vace_)?blocks\.\d+)\.attn1\.norm_([qk])", r"\1.self_attn.norm_\2"),
    (r"^((?:vace_)?blocks\.\d+)\.attn2\.to_out\.0", r"\1.cross_attn.o"),
    (r"^((?:vace_)?blocks\.\d+)\.attn2\.to_([qkv])", r"\1.cross_attn.\2"),
    (r"^((?:vace_)?blocks\.\d+)\.attn2\.norm_([qk])", r"\1.cross_attn.norm_\2"),
    (r"^((?:vace_)?blocks\.\d+)\.attn2\.add_([kv])_proj", r"\1.cross_attn.\2_img"),
    (r"^((?:vace_)?blocks\.\d+)\.attn2\.norm_added_k", r"\1.cross_attn.norm_k_img"),
    (r"^((?:vace_)?blocks\.\d+)\.norm2", r"\1.norm3"),
    (r"^((?:vace_)?blocks\.\d+)\.ffn\.net\.0\.proj", r"\1.ffn.0"),
    (r"^((?:vace_)?blocks\.\d+)\.ffn\.net\.2", r"\1.ffn.2"),
    (r"^((?:vace_)?blocks\.\d+)\.scale_shift_table$", r"\1.modulation"),
    (r"^(vace_blocks\.\d+)\.proj_in", r"\1.before_proj"),
    (r"^(vace_blocks\.\d+)\.proj_out", r"\1.after_proj"),
)
_PATTERNS = tuple((re.compile(pattern), replacement) for pattern, replacement in _INVERSE)
PARAMETERS = ("weight", "bias")


def to_original(name: str) -> str:
    """A diffusers module or parameter name → the original layout's (unchanged where they agree)."""
    head, dot, tail = name.rpartition(".")
    module, param = (head, "." + tail) if dot and tail in PARAMETERS else (name, "")
    for pattern, replacement in _PATTERNS:
        renamed, count = pattern.subn(replacement, module)
        if count:
            return renamed + param
    return name


def to_diffusers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Original-layout tensors (without prefix) → diffusers' keys, through diffusers' own converter."""
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    state = dict(state)
    if "img_emb.emb_pos" in state:  # FLF2V: a key the converter does not rename
        state["condition_embedder.image_embedder.pos_embed"] = state.pop("img_emb.emb_pos")
    return convert_wan_transformer_to_diffusers(state)  # type: ignore[no-any-return]


def lora_names(module: torch.nn.Module) -> dict[str, list[tuple[str, tuple[int, int] | None]]]:
    """Original module names, flattened with underscores (``blocks_0_self_attn_q``) → the diffusers module."""
    out: dict[str, list[tuple[str, tuple[int, int] | None]]] = {}
    for name, child in module.named_modules():
        if name and isinstance(getattr(child, "weight", None), torch.Tensor):
            out[to_original(name).replace(".", "_")] = [(name, None)]
    return out

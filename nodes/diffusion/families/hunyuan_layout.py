"""HunyuanVideo 1.5's key layouts and diffusers' names for them.

Three spellings of the same network reach users:

- Tencent's, which ComfyUI's repackaged files keep (``hunyuanvideo1.5_720p_t2v_fp16.safetensors`` …):
  ``double_blocks.N.img_attn_qkv`` (q, k, v fused), ``img_attn_q_norm``, ``img_mod.linear``, ``img_mlp.fc1``,
  ``time_in.mlp.0``, ``txt_in.t_embedder.mlp.0``, ``txt_in.c_embedder.linear_1`` …;
- Tencent's own release, the same with q, k and v apart (``img_attn_q``, ``img_attn_k``, ``img_attn_v``);
- ComfyUI's module names, what its ``process_unet_state_dict`` makes of the first and what a model saved from
  ComfyUI holds (``img_attn.qkv``, ``img_attn.norm.query_norm.scale``, ``img_mod.lin``, ``img_mlp.0``,
  ``time_in.in_layer`` …).

:func:`canonical` renames the first to the third with ComfyUI's own replacement rules; :func:`table` maps the
third (and the split q/k/v) onto diffusers' HunyuanVideo15Transformer3DModel with the rows each fused weight
gives each diffusers layer, the same table the weights, the scaled-fp8 scales and the LoRA names go through
(:mod:`.bfl`'s machinery). diffusers' final modulation is (scale, shift), the original (shift, scale).
"""

from __future__ import annotations

from typing import Any

import torch

from .bfl import Table, Target

# ComfyUI's supported_models.HunyuanVideo.process_unet_state_dict, in its order (substring replacements)
_RULES: tuple[tuple[str, str], ...] = (
    ("txt_in.t_embedder.mlp.0.", "txt_in.t_embedder.in_layer."),
    ("txt_in.t_embedder.mlp.2.", "txt_in.t_embedder.out_layer."),
    ("txt_in.c_embedder.linear_1.", "txt_in.c_embedder.in_layer."),
    ("txt_in.c_embedder.linear_2.", "txt_in.c_embedder.out_layer."),
    ("_mod.linear.", "_mod.lin."), ("_attn_qkv.", "_attn.qkv."),
    ("mlp.fc1.", "mlp.0."), ("mlp.fc2.", "mlp.2."),
    ("_attn_q_norm.weight", "_attn.norm.query_norm.scale"), ("_attn_k_norm.weight", "_attn.norm.key_norm.scale"),
    (".q_norm.weight", ".norm.query_norm.scale"), (".k_norm.weight", ".norm.key_norm.scale"),
    ("_attn_proj.", "_attn.proj."), (".modulation.linear.", ".modulation.lin."),
    ("_in.mlp.2.", "_in.out_layer."), ("_in.mlp.0.", "_in.in_layer."),
)
# the inverse for LoRAs trained on Tencent's names (diffusion-pipe, musubi): ComfyUI's lora key map
_LORA_RULES: tuple[tuple[str, str], ...] = (
    ("_mod.lin.", "_mod.linear."), ("_attn.qkv.", "_attn_qkv."), ("_attn.proj.", "_attn_proj."),
    ("mlp.0.", "mlp.fc1."), ("mlp.2.", "mlp.fc2."), (".modulation.lin.", ".modulation.linear."),
)


def canonical(key: str) -> str:
    """A Tencent-layout key in ComfyUI's module names (unchanged when it already is)."""
    for old, new in _RULES:
        key = key.replace(old, new)
    return key


def _embedder(out: Table, original: str, target: str) -> None:
    out[f"{original}.in_layer"] = [Target(f"{target}.linear_1")]
    out[f"{original}.out_layer"] = [Target(f"{target}.linear_2")]


def table(config: dict[str, Any]) -> Table:
    """ComfyUI module name → diffusers targets, for a HunyuanVideo15Transformer3DModel config."""
    width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
    q, k, v = (0, width), (width, 2 * width), (2 * width, 3 * width)
    out: Table = {
        "img_in.proj": [Target("x_embedder.proj")], "txt_in.input_embedder": [Target("context_embedder.proj_in")],
        "cond_type_embedding": [Target("cond_type_embed")], "final_layer.linear": [Target("proj_out")],
        "final_layer.adaLN_modulation.1": [Target("norm_out.linear", swap=True)],
        "byt5_in.layernorm": [Target("context_embedder_2.norm")],
        "byt5_in.fc1": [Target("context_embedder_2.linear_1")],
        "byt5_in.fc2": [Target("context_embedder_2.linear_2")], "byt5_in.fc3": [Target("context_embedder_2.linear_3")],
        "vision_in.proj.0": [Target("image_embedder.norm_in")], "vision_in.proj.1": [Target("image_embedder.linear_1")],
        "vision_in.proj.3": [Target("image_embedder.linear_2")],
        "vision_in.proj.4": [Target("image_embedder.norm_out")],
    }
    _embedder(out, "time_in", "time_embed.timestep_embedder")
    if config.get("use_meanflow"):
        _embedder(out, "time_r_in", "time_embed.timestep_embedder_r")
    _embedder(out, "txt_in.t_embedder", "context_embedder.time_text_embed.timestep_embedder")
    _embedder(out, "txt_in.c_embedder", "context_embedder.time_text_embed.text_embedder")
    for i in range(int(config["num_refiner_layers"])):
        src, dst = f"txt_in.individual_token_refiner.blocks.{i}.", f"context_embedder.token_refiner.refiner_blocks.{i}."
        out[src + "self_attn.qkv"] = [Target(dst + "attn.to_q", q), Target(dst + "attn.to_k", k),
                                      Target(dst + "attn.to_v", v)]
        for name, target in (("norm1", "norm1"), ("norm2", "norm2"), ("self_attn.proj", "attn.to_out.0"),
                             ("mlp.0", "ff.net.0.proj"), ("mlp.2", "ff.net.2"),
                             ("adaLN_modulation.1", "norm_out.linear")):
            out[src + name] = [Target(dst + target)]
    for i in range(int(config["num_layers"])):
        src, dst = f"double_blocks.{i}.", f"transformer_blocks.{i}."
        out[src + "img_attn.qkv"] = [Target(dst + "attn.to_q", q), Target(dst + "attn.to_k", k),
                                     Target(dst + "attn.to_v", v)]
        out[src + "txt_attn.qkv"] = [Target(dst + "attn.add_q_proj", q), Target(dst + "attn.add_k_proj", k),
                                     Target(dst + "attn.add_v_proj", v)]
        for name, target in (("img_mod.lin", "norm1.linear"), ("txt_mod.lin", "norm1_context.linear"),
                             ("img_attn.norm.query_norm", "attn.norm_q"), ("img_attn.norm.key_norm", "attn.norm_k"),
                             ("txt_attn.norm.query_norm", "attn.norm_added_q"),
                             ("txt_attn.norm.key_norm", "attn.norm_added_k"),
                             ("img_attn.proj", "attn.to_out.0"), ("txt_attn.proj", "attn.to_add_out"),
                             ("img_mlp.0", "ff.net.0.proj"), ("img_mlp.2", "ff.net.2"),
                             ("txt_mlp.0", "ff_context.net.0.proj"), ("txt_mlp.2", "ff_context.net.2"),
                             # Tencent's own release keeps q, k and v apart
                             ("img_attn_q", "attn.to_q"), ("img_attn_k", "attn.to_k"), ("img_attn_v", "attn.to_v"),
                             ("txt_attn_q", "attn.add_q_proj"), ("txt_attn_k", "attn.add_k_proj"),
                             ("txt_attn_v", "attn.add_v_proj")):
            out[src + name] = [Target(dst + target)]
    return out


def to_canonical(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {canonical(key): tensor for key, tensor in state.items()}


def lora_names(mapping: Table) -> dict[str, list[tuple[str, tuple[int, int] | None]]]:
    """LoRA module names, flattened with underscores, in ComfyUI's names and in Tencent's (diffusion-pipe and
    musubi LoRAs: ``double_blocks_0_img_attn_qkv``, ``double_blocks_0_img_mod_linear``) → diffusers targets."""
    from .bfl import lora_names as flat

    names = flat(mapping)
    for module, targets in mapping.items():
        if any(t.swap for t in targets):
            continue
        tencent = module + "."
        for old, new in _LORA_RULES:
            tencent = tencent.replace(old, new)
        names.setdefault(tencent[:-1].replace(".", "_"), [(t.module, t.rows) for t in targets])
    return names

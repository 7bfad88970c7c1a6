"""diffusers → original LDM/SGM ("single file") key names, for any block count.

CheckpointSave writes checkpoints in the layout ComfyUI and A1111 read, and tests build tiny checkpoints
the same way. diffusers ships only the opposite direction (LDM → diffusers, which the loader uses), and
its repository scripts for this direction assume full-size models; these rules are derived from the
UNet/VAE config instead, so they work for tiny models and for the embedded demo model alike.

Layout rules (N = len(block_out_channels), L = layers_per_block):
  UNet (prefix "model.diffusion_model."):
    conv_in                      -> input_blocks.0.0
    down_blocks.i.resnets.j      -> input_blocks.{1+i*(L+1)+j}.0
    down_blocks.i.attentions.j   -> input_blocks.{1+i*(L+1)+j}.1
    down_blocks.i.downsamplers.0.conv -> input_blocks.{1+i*(L+1)+L}.0.op   (i < N-1)
    mid_block.resnets.0 / attentions.0 / resnets.1 -> middle_block.0 / .1 / .2
    up_blocks.i.resnets.j        -> output_blocks.{i*(L+1)+j}.0           (j in 0..L)
    up_blocks.i.attentions.j     -> output_blocks.{i*(L+1)+j}.1
    up_blocks.i.upsamplers.0     -> output_blocks.{i*(L+1)+L}.{2 if block i has attention else 1}  (i < N-1)
    time_embedding.linear_1/2    -> time_embed.0/2
    add_embedding.linear_1/2 (SDXL) / class_embedding.linear_1/2 -> label_emb.0.0/0.2
    conv_norm_out / conv_out     -> out.0 / out.2
    resnet internals: norm1->in_layers.0, conv1->in_layers.2, time_emb_proj->emb_layers.1,
                      norm2->out_layers.0, conv2->out_layers.3, conv_shortcut->skip_connection
    transformer (attention) internals are identical in both layouts.
  VAE (prefix "first_stage_model."):
    {enc,dec}.conv_norm_out -> {enc,dec}.norm_out
    encoder.down_blocks.i.resnets.j -> encoder.down.i.block.j ; .downsamplers.0 -> .downsample
    decoder.up_blocks.i.resnets.j   -> decoder.up.{N-1-i}.block.j ; .upsamplers.0 -> .upsample
    mid_block.resnets.k -> mid.block_{k+1} ; mid_block.attentions.0 -> mid.attn_1 with
      group_norm->norm, to_q/to_k/to_v->q/k/v, to_out.0->proj_out, weights reshaped to [C,C,1,1]
    resnet conv_shortcut -> nin_shortcut
  CLIP-L (HF CLIPTextModel): prefix "cond_stage_model.transformer." (SD1) or
    "conditioner.embedders.0.transformer." (SDXL) + the transformers-4 style key
    "text_model.…". NOTE transformers >= 5.6 flattened CLIPTextModel (keys no longer start with
    "text_model."), so the prefix must be re-added.
  OpenCLIP (SD2 "cond_stage_model.model.", SDXL G "conditioner.embedders.1.model."):
    token_embedding.weight, positional_embedding (no .weight), ln_final.*,
    transformer.resblocks.i.{ln_1,ln_2,attn.in_proj_weight/bias (= cat q,k,v),attn.out_proj.*,
    mlp.c_fc.*, mlp.c_proj.*}, text_projection = HF text_projection.weight.T
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

RESNET_UNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}


def _has_attn(block_type: str) -> bool:
    return "CrossAttn" in block_type


def unet_diffusers_to_ldm(sd: dict[str, Any], config: Mapping[str, Any],
                          prefix: str = "model.diffusion_model.") -> dict[str, Any]:
    L = config["layers_per_block"]  # noqa: N806
    if not isinstance(L, int):
        raise ValueError("UNets with a layers_per_block list cannot be written in the LDM layout")
    n = len(config["block_out_channels"])
    up_types = config["up_block_types"]
    fixed = {
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "conv_in": "input_blocks.0.0",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
        "add_embedding.linear_1": "label_emb.0.0",
        "add_embedding.linear_2": "label_emb.0.2",
        "class_embedding.linear_1": "label_emb.0.0",
        "class_embedding.linear_2": "label_emb.0.2",
    }
    prefixes: list[tuple[str, str, bool]] = []  # (diffusers prefix, LDM prefix, is a resnet)
    for i in range(n):
        for j in range(L):
            idx = 1 + i * (L + 1) + j
            prefixes.append((f"down_blocks.{i}.resnets.{j}.", f"input_blocks.{idx}.0.", True))
            prefixes.append((f"down_blocks.{i}.attentions.{j}.", f"input_blocks.{idx}.1.", False))
        if i < n - 1:
            prefixes.append((f"down_blocks.{i}.downsamplers.0.conv.", f"input_blocks.{1 + i * (L + 1) + L}.0.op.",
                             False))
    for i in range(n):
        for j in range(L + 1):
            idx = i * (L + 1) + j
            prefixes.append((f"up_blocks.{i}.resnets.{j}.", f"output_blocks.{idx}.0.", True))
            prefixes.append((f"up_blocks.{i}.attentions.{j}.", f"output_blocks.{idx}.1.", False))
        if i < n - 1:
            k = 2 if _has_attn(up_types[i]) else 1
            prefixes.append((f"up_blocks.{i}.upsamplers.0.", f"output_blocks.{i * (L + 1) + L}.{k}.", False))
    prefixes += [
        ("mid_block.resnets.0.", "middle_block.0.", True),
        ("mid_block.attentions.0.", "middle_block.1.", False),
        ("mid_block.resnets.1.", "middle_block.2.", True),
    ]
    out: dict[str, Any] = {}
    for key, v in sd.items():
        new = None
        stem, _, leaf = key.rpartition(".")
        if stem in fixed:
            new = f"{fixed[stem]}.{leaf}"
        else:
            for dp, lp, is_res in prefixes:
                if key.startswith(dp):
                    rest = key[len(dp):]
                    if is_res:
                        head, _, tail = rest.partition(".")
                        rest = f"{RESNET_UNET.get(head, head)}.{tail}"
                    new = lp + rest
                    break
        if new is None:
            raise KeyError(f"unmapped UNet key {key}")
        out[prefix + new] = v
    return out


def vae_diffusers_to_ldm(sd: dict[str, Any], config: Mapping[str, Any],
                         prefix: str = "first_stage_model.") -> dict[str, Any]:
    n = len(config["block_out_channels"])
    prefixes: list[tuple[str, str]] = []
    for i in range(n):
        prefixes.append((f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block."))
        prefixes.append((f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample."))
        prefixes.append((f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{n - 1 - i}.block."))
        prefixes.append((f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{n - 1 - i}.upsample."))
    for part in ("encoder", "decoder"):
        prefixes.append((f"{part}.mid_block.resnets.0.", f"{part}.mid.block_1."))
        prefixes.append((f"{part}.mid_block.resnets.1.", f"{part}.mid.block_2."))
        prefixes.append((f"{part}.conv_norm_out.", f"{part}.norm_out."))
    attn = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out: dict[str, Any] = {}
    for key, v in sd.items():
        new = key
        for dp, lp in prefixes:
            if key.startswith(dp):
                new = lp + key[len(dp):]
                break
        new = new.replace("conv_shortcut", "nin_shortcut")
        for part in ("encoder", "decoder"):
            ap = f"{part}.mid_block.attentions.0."
            if key.startswith(ap):
                rest = key[len(ap):]
                for diffusers_name, ldm_name in attn.items():
                    if rest.startswith(diffusers_name + "."):
                        rest = ldm_name + rest[len(diffusers_name):]
                        break
                new = f"{part}.mid.attn_1.{rest}"
                if new.endswith(".weight") and v.ndim == 2:
                    v = v.reshape(*v.shape, 1, 1)  # LDM uses 1x1 convs
        out[prefix + new] = v
    return out


def clip_hf_to_ldm(sd: dict[str, Any], prefix: str = "cond_stage_model.transformer.") -> dict[str, Any]:
    """HF CLIPTextModel(WithProjection) -> LDM keys (transformers-4 naming)."""
    out: dict[str, Any] = {}
    for k, v in sd.items():
        if k.endswith("position_ids"):
            continue
        if not (k.startswith("text_model.") or k.startswith("text_projection")):
            k = "text_model." + k  # transformers >= 5.6 flattened CLIPTextModel
        out[prefix + k] = v
    return out


def openclip_hf_to_ldm(sd: dict[str, Any], prefix: str,
                       add_text_projection: torch.Tensor | None = None) -> dict[str, Any]:
    """HF CLIPTextModel(WithProjection) -> OpenCLIP keys (SD2: 'cond_stage_model.model.',
    SDXL encoder 2: 'conditioner.embedders.1.model.')."""
    sd = {(k if k.startswith(("text_model.", "text_projection")) else "text_model." + k): v for k, v in sd.items()}
    out: dict[str, Any] = {}
    qkv: dict[tuple[str, str], dict[str, Any]] = {}
    for k, v in sd.items():
        if k.endswith("position_ids"):
            continue
        if k == "text_model.embeddings.token_embedding.weight":
            out[prefix + "token_embedding.weight"] = v
        elif k == "text_model.embeddings.position_embedding.weight":
            out[prefix + "positional_embedding"] = v
        elif k.startswith("text_model.final_layer_norm."):
            out[prefix + "ln_final." + k.rsplit(".", 1)[1]] = v
        elif k == "text_projection.weight":
            out[prefix + "text_projection"] = v.T.contiguous()
        elif k.startswith("text_model.encoder.layers."):
            rest = k[len("text_model.encoder.layers."):]
            i, _, rest = rest.partition(".")
            base = f"{prefix}transformer.resblocks.{i}."
            if rest.startswith("self_attn.") and rest.split(".")[1] in ("q_proj", "k_proj", "v_proj"):
                which, kind = rest.split(".")[1][0], rest.split(".")[2]
                qkv.setdefault((base, kind), {})[which] = v
                continue
            rest = (
                rest.replace("self_attn.out_proj", "attn.out_proj")
                .replace("layer_norm1", "ln_1")
                .replace("layer_norm2", "ln_2")
                .replace("mlp.fc1", "mlp.c_fc")
                .replace("mlp.fc2", "mlp.c_proj")
            )
            out[base + rest] = v
        else:
            raise KeyError(f"unmapped CLIP key {k}")
    for (base, kind), d in qkv.items():
        out[f"{base}attn.in_proj_{kind}"] = torch.cat([d["q"], d["k"], d["v"]], dim=0)
    if add_text_projection is not None:
        out[prefix + "text_projection"] = add_text_projection
    return out

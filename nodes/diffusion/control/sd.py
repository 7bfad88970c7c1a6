"""ControlNets and T2I-Adapters of the UNet families (SD1.x, SD2.x, SDXL), as diffusers' ControlNetModel,
ControlNetUnionModel and T2IAdapter.

Layouts: the original (``control_model.`` + LDM names, ``zero_convs``, ``input_hint_block``, ``middle_block_out``,
with or without the prefix) and diffusers' (``controlnet_cond_embedding``, ``controlnet_down_blocks``); xinsir's
union ControlNets (``task_embedding``, ``control_add_embedding``) in the diffusers layout; TencentARC's
T2I-Adapters in the original (``body.N``) and diffusers (``adapter.body.N.resnets.M``) layouts. The architecture
is read from the shapes (widths, levels, transformer depths, context and pooled widths, the hint encoder's
channels); attention heads follow SD's conventions (8 per block with a 768-wide context, else 64 wide).

A ControlNet gets the UNet's own inputs — the model input, the timestep, the context and SDXL's pooled/size
embedding — and the hint image (0..1, at the latent's size × 8) and returns the residuals of the UNet's skip
connections (``down``) and middle block (``mid``). A T2I-Adapter turns the hint alone into features added inside
the down blocks (``intrablock``). A file named ``*_shuffle`` pools its outputs globally, as ComfyUI.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any

import torch

from ..families.sd import read_unet_config
from ..state_dict import TensorIndex, block_count
from .base import ControlDetected, ControlInputs, ControlKind, ControlNet, Residuals

# the diffusers ControlNetModel config keys a UNet config shares
SHARED = ("in_channels", "down_block_types", "mid_block_type", "block_out_channels", "layers_per_block",
          "cross_attention_dim", "transformer_layers_per_block", "attention_head_dim", "use_linear_projection",
          "addition_embed_type", "addition_time_embed_dim", "projection_class_embeddings_input_dim")
UNION_TYPES = {"openpose": 0, "depth": 1, "hed/pidi/scribble/ted": 2, "canny/lineart/anime_lineart/mlsd": 3,
               "normal": 4, "segment": 5, "tile": 6, "repaint": 7}  # ComfyUI's UNION_CONTROLNET_TYPES


def _heads(context: int | None, widths: list[int]) -> Any:
    return 8 if context in (768, None) else [max(w // 64, 1) for w in widths]


def _hint_channels(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The hint encoder's block widths from its convolutions in order: conv_in's, then each strided one's."""
    return (shapes[0][0], *(shapes[i][0] for i in range(2, len(shapes) - 1, 2)))


def ldm_config(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """A ControlNetModel config for an original-layout ControlNet under ``prefix``."""
    unet = read_unet_config(index, prefix, {}, sd1_heads=False, control=True)
    config = {k: unet[k] for k in SHARED if k in unet}
    config["attention_head_dim"] = _heads(unet["cross_attention_dim"], list(unet["block_out_channels"]))
    pattern = re.compile(re.escape(prefix) + r"input_hint_block\.(\d+)\.weight$")
    hint = sorted(int(m.group(1)) for k in index if (m := pattern.match(k)))
    shapes = [index[f"{prefix}input_hint_block.{i}.weight"].shape for i in hint]
    config["conditioning_channels"] = shapes[0][1]
    config["conditioning_embedding_out_channels"] = _hint_channels(shapes)
    return config


def diffusers_config(index: TensorIndex, prefix: str = "") -> dict[str, Any]:
    """A ControlNetModel config for a diffusers-layout ControlNet, from its key names and shapes."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    keys = {k[len(prefix):] for k in index if k.startswith(prefix)}
    levels = block_count(dict.fromkeys(keys), "down_blocks.")
    widths = [shape(f"down_blocks.{i}.resnets.0.conv2.weight")[0] for i in range(levels)]
    layers = block_count(dict.fromkeys(k[len("down_blocks.0."):] for k in keys if k.startswith("down_blocks.0.")),
                         "resnets.")
    depths = []
    for i in range(levels):
        pattern = re.compile(rf"down_blocks\.{i}\.attentions\.0\.transformer_blocks\.(\d+)\.")
        found = [int(m.group(1)) for k in keys if (m := pattern.match(k))]
        depths.append(max(found) + 1 if found else 0)
    context_key = next((k for k in keys if k.endswith("attn2.to_k.weight")), None)
    context = shape(context_key)[1] if context_key else None
    proj = next((k for k in keys if k.endswith(".proj_in.weight")), None)
    config: dict[str, Any] = {
        "in_channels": shape("conv_in.weight")[1], "block_out_channels": widths, "layers_per_block": layers,
        "down_block_types": ["CrossAttnDownBlock2D" if d else "DownBlock2D" for d in depths],
        "transformer_layers_per_block": [max(d, 1) for d in depths], "cross_attention_dim": context or 768,
        "use_linear_projection": proj is not None and len(shape(proj)) == 2,
        "attention_head_dim": _heads(context, widths),
        "mid_block_type": "UNetMidBlock2DCrossAttn" if "mid_block.resnets.0.conv1.weight" in keys else None,
        "conditioning_channels": shape("controlnet_cond_embedding.conv_in.weight")[1],
    }
    blocks = block_count(dict.fromkeys(k[len("controlnet_cond_embedding."):] for k in keys
                                       if k.startswith("controlnet_cond_embedding.")), "blocks.")
    shapes = [shape("controlnet_cond_embedding.conv_in.weight"),
              *(shape(f"controlnet_cond_embedding.blocks.{i}.weight") for i in range(blocks)),
              shape("controlnet_cond_embedding.conv_out.weight")]
    config["conditioning_embedding_out_channels"] = _hint_channels(shapes)
    if "add_embedding.linear_1.weight" in keys:
        config.update(addition_embed_type="text_time", addition_time_embed_dim=256,
                      projection_class_embeddings_input_dim=shape("add_embedding.linear_1.weight")[1])
    return config


def _ldm_to_diffusers(state: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Original-layout ControlNet weights → diffusers' names (diffusers' converter; the hint encoder and SDXL's
    label embedding, which it does not rename, here)."""
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint

    state = dict(state)
    renamed: dict[str, torch.Tensor] = {}
    hint = sorted({int(m.group(1)) for k in state if (m := re.match(r"input_hint_block\.(\d+)\.", k))})
    for position, number in enumerate(hint):
        target = ("conv_in" if position == 0 else "conv_out" if position == len(hint) - 1
                  else f"blocks.{position - 1}")
        for param in ("weight", "bias"):
            renamed[f"controlnet_cond_embedding.{target}.{param}"] = state.pop(f"input_hint_block.{number}.{param}")
    for src, dst in (("label_emb.0.0", "add_embedding.linear_1"), ("label_emb.0.2", "add_embedding.linear_2")):
        for param in ("weight", "bias"):
            if f"{src}.{param}" in state:
                renamed[f"{dst}.{param}"] = state.pop(f"{src}.{param}")
    converted = convert_controlnet_checkpoint(state, config)
    return {**{k: v for k, v in converted.items() if v is not None}, **renamed}


class SDControlNet(ControlKind):
    """lllyasviel's ControlNets and their SD2/SDXL relatives, original or diffusers layout."""

    name = "sd_controlnet"
    families = frozenset({"unet"})

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "controlnet_cond_embedding.conv_in.weight" in index:
            if "task_embedding" in index:
                return None  # a union ControlNet
            return ControlDetected(self, diffusers_config(index), "", "diffusers")
        for prefix in ("control_model.", ""):
            if prefix + "zero_convs.0.0.weight" in index and prefix + "input_hint_block.0.weight" in index:
                return ControlDetected(self, ldm_config(index, prefix), prefix, "ldm")
        return None

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import ControlNetModel

        from ..weights import assemble

        state = _ldm_to_diffusers(tensors, detected.config) if detected.variant == "ldm" else tensors
        return assemble(ControlNetModel, detected.config, state, dtype, "ControlNet", detected.source)

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        down, mid = net(inputs.x.to(hint.dtype), inputs.timestep, controlnet_cond=hint, return_dict=False,
                        **_unet_kwargs(net, inputs, hint.dtype))
        return _pooled(detected, {"down": list(down), "mid": [mid]})


def _unet_kwargs(net: Any, inputs: ControlInputs, dtype: torch.dtype) -> dict[str, Any]:
    values = inputs.values
    kwargs: dict[str, Any] = {"encoder_hidden_states": values["encoder_hidden_states"].to(dtype)}
    if getattr(net.config, "addition_embed_type", None) == "text_time":
        added = values.get("added_cond_kwargs")
        if added is None:
            raise ValueError("an SDXL ControlNet drives SDXL models (it needs their pooled and size embedding)")
        kwargs["added_cond_kwargs"] = {k: v.to(dtype) for k, v in added.items()}
    return kwargs


def _pooled(detected: ControlDetected, residuals: Residuals) -> Residuals:
    if not detected.extra.get("global_average_pooling"):
        return residuals
    return {key: [None if x is None else x.mean(dim=(2, 3), keepdim=True).expand_as(x) for x in values]
            for key, values in residuals.items()}


class SDUnionControlNet(ControlKind):
    """xinsir's ControlNet++ union models (one network, a control type per use; SetUnionControlNetType)."""

    name = "sd_union"
    families = frozenset({"unet"})

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "controlnet_cond_embedding.conv_in.weight" not in index or "task_embedding" not in index:
            return None
        config = diffusers_config(index)
        config.pop("mid_block_type", None)
        types, channels = index["task_embedding"].shape
        size_width = index["control_add_embedding.linear_1.weight"].shape[1] // types  # the size ids' embedding
        config.update(num_control_type=types, num_trans_channel=channels,
                      num_trans_layer=block_count(dict.fromkeys(index), "transformer_layes."),
                      num_proj_channel=index["spatial_ch_projs.weight"].shape[0], addition_time_embed_dim=size_width)
        return ControlDetected(self, config, "", "union")

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import ControlNetUnionModel

        from ..weights import assemble

        return assemble(ControlNetUnionModel, detected.config, tensors, dtype, "union ControlNet", detected.source)

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        types = [int(t) for t in control.extra_args.get("control_type") or []]
        count = int(net.config.num_control_type)
        if any(t >= count or t < 0 for t in types):
            raise ValueError(f"control type {types} is not one this union ControlNet has (it has {count})")
        batch = inputs.x.shape[0]
        one_hot = torch.zeros(batch, count, device=hint.device, dtype=hint.dtype)
        one_hot[:, types] = 1.0
        kwargs = _unet_kwargs(net, inputs, hint.dtype)
        x = inputs.x.to(hint.dtype)
        if types:  # the type's token and the hint's features fused, as xinsir's ControlNet++
            down, mid = net(x, inputs.timestep, controlnet_cond=[hint], control_type=one_hot,
                            control_type_idx=types[:1], return_dict=False, **kwargs)
        else:  # "auto": the hint's features added as a plain ControlNet's, no type token (ComfyUI)
            with _plain_hint(net, hint):
                down, mid = net(x, inputs.timestep, controlnet_cond=[], control_type=one_hot, control_type_idx=[],
                                return_dict=False, **kwargs)
        return {"down": list(down), "mid": [mid]}


@contextmanager
def _plain_hint(net: Any, hint: torch.Tensor) -> Any:
    """During one call, the input convolution's output plus the hint encoder's features."""
    def add(module: Any, args: Any, output: torch.Tensor) -> torch.Tensor:
        return output + net.controlnet_cond_embedding(hint)

    handle = net.conv_in.register_forward_hook(add)
    try:
        yield
    finally:
        handle.remove()


class T2IAdapter(ControlKind):
    """TencentARC's T2I-Adapters (full, light, SDXL), original or diffusers layout."""

    name = "t2i_adapter"
    families = frozenset({"unet"})

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "adapter.body.0.resnets.0.block1.weight" in index:
            layout = "diffusers"
            light = "adapter.body.0.out_conv.weight" in index
            conv_in = "adapter.body.0.in_conv.weight" if light else "adapter.conv_in.weight"
            blocks = block_count(dict.fromkeys(k[len("adapter."):] for k in index if k.startswith("adapter.")), "body.")
            rb = block_count(dict.fromkeys(k[len("adapter.body.0."):] for k in index
                                           if k.startswith("adapter.body.0.")), "resnets.")
            widths = [index[f"adapter.body.{i}.resnets.0.block1.weight"].shape[0] for i in range(blocks)]
            if light:
                widths = [index[f"adapter.body.{i}.out_conv.weight"].shape[0] for i in range(blocks)]
        elif "body.0.in_conv.weight" in index and "body.0.out_conv.weight" in index:
            layout, light, conv_in = "light", True, "body.0.in_conv.weight"
            blocks = block_count(dict.fromkeys(index), "body.")
            rb = block_count(dict.fromkeys(k[len("body.0."):] for k in index if k.startswith("body.0.")), "body.")
            widths = [index[f"body.{i}.out_conv.weight"].shape[0] for i in range(blocks)]
        elif "conv_in.weight" in index and "body.0.block1.weight" in index:
            if any(k.endswith("down_opt.op.weight") for k in index):
                raise ValueError("T2I-Adapters that downsample with convolutions are not supported")
            layout, light, conv_in, rb = "original", False, "conv_in.weight", 2
            count = block_count(dict.fromkeys(index), "body.")
            widths = [index[f"body.{i * rb}.block1.weight"].shape[0] for i in range(count // rb)]
        else:
            return None
        cin = index[conv_in].shape[1]
        xl = not light and cin in (256, 768)
        factor = 16 if xl else 8
        channels = cin // (factor * factor)
        config = {"in_channels": channels, "channels": widths, "num_res_blocks": rb, "downscale_factor": factor,
                  "adapter_type": "light_adapter" if light else "full_adapter_xl" if xl else "full_adapter"}
        return ControlDetected(self, config, "", layout)

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import T2IAdapter as Adapter

        from ..weights import assemble

        state = tensors
        if detected.variant != "diffusers":
            rb = int(detected.config["num_res_blocks"])
            state = {}
            for key, value in tensors.items():
                if detected.variant == "light":
                    key = re.sub(r"^body\.(\d+)\.body\.(\d+)\.", r"body.\1.resnets.\2.", key)
                else:
                    match = re.match(r"body\.(\d+)\.(block1|block2|in_conv)\.(.*)", key)
                    if match:
                        number, part, rest = int(match.group(1)), match.group(2), match.group(3)
                        level, index = divmod(number, rb)
                        key = (f"body.{level}.in_conv.{rest}" if part == "in_conv"
                               else f"body.{level}.resnets.{index}.{part}.{rest}")
                state["adapter." + key] = value
        return assemble(Adapter, detected.config, state, dtype, "T2I-Adapter", detected.source)

    def scale_size(self, detected: ControlDetected, width: int, height: int) -> tuple[int, int]:
        step = int(detected.config["downscale_factor"])
        return -(-width // step) * step, -(-height // step) * step

    def preprocess(self, detected: ControlDetected, hint: torch.Tensor) -> torch.Tensor:
        if int(detected.config["in_channels"]) == 1 and hint.shape[1] > 1:
            return hint.mean(dim=1, keepdim=True)
        return hint

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        return {"intrablock": list(net(hint))}


KINDS: list[ControlKind] = [SDUnionControlNet(), SDControlNet(), T2IAdapter()]

"""LoRAs for Flux and SD3 in kohya's, diffusers/peft's and ComfyUI's key formats: a LoRA trained on a fused
layer of the original layout (Flux's q, k, v, SD3's qkv) patches the matching rows of diffusers' separate
layers; fp8 weights are patched in float32 and stored back; every patch is undone exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion.weights import dequantized
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_text as tt

RANK, ALPHA = 2, 1.0
WIDTH = 64  # the tiny Flux's width: q, k, v are its rows 0-63, 64-127, 128-191


def pair(rows: int, cols: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(RANK, cols, generator=generator) * 0.1, torch.randn(rows, RANK, generator=generator) * 0.1


FUSED = pair(3 * WIDTH, WIDTH, 1)  # double_blocks.0.img_attn.qkv (down, up)
SINGLE = pair(3 * WIDTH + 4 * WIDTH, WIDTH, 2)  # single_blocks.0.linear1: q, k, v, MLP in
SEPARATE = pair(WIDTH, WIDTH, 3)  # transformer_blocks.0.attn.to_q alone (diffusers' name)


def flux_lora(fmt: str) -> dict[str, torch.Tensor]:
    if fmt == "kohya":
        return {"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": FUSED[0],
                "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": FUSED[1],
                "lora_unet_double_blocks_0_img_attn_qkv.alpha": torch.tensor(ALPHA),
                "lora_unet_single_blocks_0_linear1.lora_down.weight": SINGLE[0],
                "lora_unet_single_blocks_0_linear1.lora_up.weight": SINGLE[1],
                "lora_unet_single_blocks_0_linear1.alpha": torch.tensor(ALPHA)}
    if fmt == "comfyui":
        return {"diffusion_model.double_blocks.0.img_attn.qkv.lora_down.weight": FUSED[0],
                "diffusion_model.double_blocks.0.img_attn.qkv.lora_up.weight": FUSED[1],
                "diffusion_model.double_blocks.0.img_attn.qkv.alpha": torch.tensor(ALPHA),
                "diffusion_model.single_blocks.0.linear1.lora_A.weight": SINGLE[0],
                "diffusion_model.single_blocks.0.linear1.lora_B.weight": SINGLE[1],
                "diffusion_model.single_blocks.0.linear1.alpha": torch.tensor(ALPHA)}
    return {"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": SEPARATE[0],  # peft: alpha = rank
            "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": SEPARATE[1]}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dit_lora")
    td.save(td.flux_state(td.flux("dev", 1)), root / "models" / "diffusion_models" / "flux1-dev.safetensors")
    td.save(td.sd3_state(td.sd3(2)), root / "models" / "diffusion_models" / "sd3.5_medium.safetensors")
    tt.save_set(root / "models" / "text_encoders")
    loras = root / "models" / "loras"
    loras.mkdir(parents=True)
    for fmt in ("kohya", "comfyui", "peft"):
        save_file(flux_lora(fmt), str(loras / f"flux_{fmt}.safetensors"))
    qkv = pair(3 * 32, 32, 4)  # the tiny SD3 is 32 wide
    save_file({"lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight": qkv[0],
               "lora_unet_joint_blocks_0_x_block_attn_qkv.lora_up.weight": qkv[1]},
              str(loras / "sd3_kohya.safetensors"))
    down, up = pair(32, 32, 5)
    save_file({"lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": down,
               "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": up},
              str(loras / "clip_l_kohya.safetensors"))
    return root


class Ctx:
    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def text(self, _: str) -> None:
        return None


def weights(model: Any, names: list[str]) -> dict[str, torch.Tensor]:
    with model.use() as module:
        modules = dict(module.named_modules())
        return {name: dequantized(modules[name]).clone() for name in names}


TARGETS = ["transformer_blocks.0.attn.to_q", "transformer_blocks.0.attn.to_k", "transformer_blocks.0.attn.to_v",
           "single_transformer_blocks.0.attn.to_v", "single_transformer_blocks.0.proj_mlp"]


def expected(base_weights: dict[str, torch.Tensor], fmt: str, strength: float) -> dict[str, torch.Tensor]:
    out = dict(base_weights)
    if fmt == "peft":
        out["transformer_blocks.0.attn.to_q"] = base_weights["transformer_blocks.0.attn.to_q"] + strength * (
            SEPARATE[1] @ SEPARATE[0])
        return out
    fused = (FUSED[1] @ FUSED[0]) * (ALPHA / RANK) * strength
    single = (SINGLE[1] @ SINGLE[0]) * (ALPHA / RANK) * strength
    for i, name in enumerate(("to_q", "to_k", "to_v")):
        out[f"transformer_blocks.0.attn.{name}"] = base_weights[f"transformer_blocks.0.attn.{name}"] + \
            fused[i * WIDTH:(i + 1) * WIDTH]
    out["single_transformer_blocks.0.attn.to_v"] = base_weights["single_transformer_blocks.0.attn.to_v"] + \
        single[2 * WIDTH:3 * WIDTH]
    out["single_transformer_blocks.0.proj_mlp"] = base_weights["single_transformer_blocks.0.proj_mlp"] + \
        single[3 * WIDTH:]
    return out


@pytest.mark.parametrize("fmt", ["kohya", "comfyui", "peft"])
def test_flux_loras_patch_the_rows_of_fused_layers_in_every_format(base: Path, fmt: str) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    model = UNETLoader(ctx, "flux1-dev.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    before = weights(model, TARGETS)
    patched = LoraLoaderModelOnly(ctx, model, f"flux_{fmt}.safetensors", 0.8)  # type: ignore[arg-type]
    after = weights(patched, TARGETS)
    for name, value in expected(before, fmt, 0.8).items():
        assert torch.allclose(after[name], value, atol=1e-6), name
    assert all(torch.equal(v, before[k]) for k, v in weights(model, TARGETS).items())  # the base is restored


def test_fp8_weights_are_patched_in_float32_and_restored_exactly(base: Path) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    model = UNETLoader(ctx, "flux1-dev.safetensors", weight_dtype="fp8_e4m3fn")  # type: ignore[arg-type]
    with model.use() as module:
        stored = module.transformer_blocks[0].attn.to_k.weight.clone()
        scale = module.transformer_blocks[0].attn.to_k.scale_weight.clone()
    before = weights(model, TARGETS)
    after = weights(LoraLoaderModelOnly(ctx, model, "flux_kohya.safetensors", 1.0), TARGETS)  # type: ignore[arg-type]
    for name, value in expected(before, "kohya", 1.0).items():
        change = value - before[name]
        if change.abs().max() > 0:
            assert (after[name] - value).norm() < 0.1 * change.norm() + 0.07 * value.norm(), name
    with model.use() as module:
        to_k = module.transformer_blocks[0].attn.to_k
        assert to_k.weight.dtype == torch.float8_e4m3fn
        assert torch.equal(to_k.weight, stored) and torch.equal(to_k.scale_weight, scale)


def test_sd3_kohya_lora_patches_the_split_qkv(base: Path) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    model = UNETLoader(ctx, "sd3.5_medium.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    names = ["transformer_blocks.0.attn.to_q", "transformer_blocks.0.attn.to_k", "transformer_blocks.0.attn.to_v"]
    before = weights(model, names)
    after = weights(LoraLoaderModelOnly(ctx, model, "sd3_kohya.safetensors", 1.0), names)  # type: ignore[arg-type]
    down, up = pair(3 * 32, 32, 4)
    delta = up @ down
    for i, name in enumerate(names):
        assert torch.allclose(after[name], before[name] + delta[i * 32:(i + 1) * 32], atol=1e-6), name


def test_clip_l_lora_of_a_flux_clip(base: Path) -> None:
    from inkgraph.nodes.loaders import DualCLIPLoader, LoraLoader, UNETLoader

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    clip = DualCLIPLoader(ctx, "clip_l.safetensors", "t5xxl_fp16.safetensors", type="flux")  # type: ignore[arg-type]
    model = UNETLoader(ctx, "flux1-dev.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    with clip.by_slot() as encoders:
        before = encoders["clip_l"].encoder.layers[0].self_attn.q_proj.weight.clone()
    _, patched = LoraLoader(ctx, model, clip, "clip_l_kohya.safetensors", 0.0, 1.0)  # type: ignore[arg-type]
    down, up = pair(32, 32, 5)
    with patched.by_slot() as encoders:
        assert torch.allclose(encoders["clip_l"].encoder.layers[0].self_attn.q_proj.weight, before + up @ down,
                              atol=1e-6)

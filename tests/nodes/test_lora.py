"""LoRA files (kohya and diffusers/peft keys) patch weights exactly and reversibly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion import lora as lora_mod
from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm
from tests.fixtures.tiny_sd import build, save_single_file


def kohya_lora(models: dict[str, Any], sdxl: bool = False, rank: int = 2) -> dict[str, torch.Tensor]:
    """A kohya-format LoRA on every attention projection of the UNet and the (first) text encoder."""
    generator = torch.Generator().manual_seed(7)
    state: dict[str, torch.Tensor] = {}
    unet = models["unet"]
    for name, module in unet.named_modules():
        if isinstance(module, torch.nn.Linear) and name.endswith(("to_q", "to_k", "to_v")):
            key_name = name
            if sdxl:  # kohya SDXL files use the original-layout (LDM) module names
                (ldm,) = unet_diffusers_to_ldm({f"{name}.weight": None}, unet.config, prefix="")
                key_name = ldm[: -len(".weight")]
            stem = "lora_unet_" + key_name.replace(".", "_")
            state[stem + ".lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator)
            state[stem + ".lora_up.weight"] = torch.randn(module.out_features, rank, generator=generator)
            state[stem + ".alpha"] = torch.tensor(1.0)
    for name, module in models["text_encoder"].named_modules():
        if isinstance(module, torch.nn.Linear) and name.endswith("q_proj"):
            full = name if name.startswith("text_model.") else "text_model." + name
            stem = ("lora_te1_" if sdxl else "lora_te_") + full.replace(".", "_")
            state[stem + ".lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator)
            state[stem + ".lora_up.weight"] = torch.randn(module.out_features, rank, generator=generator)
    return state


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lora")
    models = save_single_file("sd1", root / "models" / "checkpoints" / "tiny.safetensors", seed=3)
    (root / "models" / "loras").mkdir(parents=True)
    save_file(kohya_lora(models), str(root / "models" / "loras" / "style.safetensors"))
    return root


class Ctx:
    """Just enough of a node context to call nodes and the sampler directly."""

    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders, self.extra_data = runtime.models, runtime.folders, {}

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None

    def text(self, _: str) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


def sample_with(ctx: Ctx, model: Any, clip: Any) -> torch.Tensor:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.diffusion.ksampler import sample

    cond = CLIPTextEncode(ctx, text="a circle", clip=clip)
    with torch.no_grad():
        out = sample(ctx, model, 1, 2, 5.0, "euler", "normal", cond, cond,  # type: ignore[arg-type]
                     {"samples": torch.zeros(1, 4, 8, 8)})
    return out["samples"]


def test_strength_zero_equals_base_and_one_differs_and_base_is_restored(base: Path) -> None:
    from inkgraph.nodes.loaders import CheckpointLoaderSimple, LoraLoader

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    model, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
    plain = sample_with(ctx, model, clip)
    zero = LoraLoader(ctx, model=model, clip=clip, lora_name="style.safetensors", strength_model=0.0,
                      strength_clip=0.0)
    assert torch.equal(sample_with(ctx, *zero), plain)
    styled_model, styled_clip = LoraLoader(ctx, model=model, clip=clip, lora_name="style.safetensors",
                                           strength_model=1.0, strength_clip=1.0)
    styled = sample_with(ctx, styled_model, styled_clip)
    assert (styled - plain).abs().max() > 1e-3
    assert torch.equal(sample_with(ctx, model, clip), plain)  # the base weights came back exactly
    assert torch.equal(sample_with(ctx, styled_model, styled_clip), styled)


def test_patch_math_matches_the_formula() -> None:
    models = build("sd1", seed=3)
    unet = models["unet"]
    parsed = lora_mod.parse(kohya_lora(models), "x")
    name = next(n for n, m in unet.named_modules() if n.endswith("attn1.to_q"))
    before = unet.get_submodule(name).weight.detach().clone()
    lora_mod.sync(unet, "unet", ((parsed, 0.5),), unet.config)
    patch = parsed.patches["unet"][name.replace(".", "_")]
    expected = before + 0.5 * (1.0 / 2) * (patch.up @ patch.down)
    assert torch.allclose(unet.get_submodule(name).weight, expected, atol=1e-6)
    lora_mod.sync(unet, "unet", (), unet.config)
    assert torch.equal(unet.get_submodule(name).weight, before)


def test_sdxl_kohya_names_and_peft_keys_map() -> None:
    models = build("sdxl", seed=3)
    parsed = lora_mod.parse(kohya_lora(models, sdxl=True), "xl")
    index = lora_mod.module_index(models["unet"], models["unet"].config)
    assert all(flat in index for flat in parsed.patches["unet"])
    te_index = lora_mod.module_index(models["text_encoder"])
    assert all(flat in te_index for flat in parsed.patches["te0"])
    peft = {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 64),
            "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(64, 2)}
    expected = ["down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"]
    assert list(lora_mod.parse(peft, "p").patches["unet"]) == expected
    with pytest.raises(ValueError, match="no LoRA weights"):
        lora_mod.parse({"model.diffusion_model.x": torch.zeros(1)}, "bad")


def test_checkpoint_save_round_trips_with_the_lora_baked_in(base: Path) -> None:
    from inkgraph.nodes.checkpoint_save import CheckpointSave
    from inkgraph.nodes.loaders import CheckpointLoaderSimple, LoraLoader

    runtime = Runtime.create(Settings(base_dir=base, cache="none"))
    ctx = Ctx(runtime)
    model, clip, vae = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
    styled = LoraLoader(ctx, model=model, clip=clip, lora_name="style.safetensors", strength_model=1.0,
                        strength_clip=1.0)
    expected = sample_with(ctx, *styled)
    CheckpointSave(ctx, model=styled[0], clip=styled[1], vae=vae, filename_prefix="checkpoints/merged")
    saved = runtime.folders.output / "checkpoints" / "merged_00001_.safetensors"
    target = base / "models" / "checkpoints" / "merged.safetensors"
    target.write_bytes(saved.read_bytes())
    reloaded, reclip, _ = CheckpointLoaderSimple(ctx, ckpt_name="merged.safetensors")
    assert torch.allclose(sample_with(ctx, reloaded, reclip), expected, atol=1e-5)

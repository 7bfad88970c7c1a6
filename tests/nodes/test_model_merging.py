"""Model merging as patches applied on use: every parameter equals ComfyUI's W·strength_model + strength_patch·W₂
for the simple, block-wise, per-family, subtract and add merges (of MODELs and CLIPs), in the order the patches
were added, with the other model's own LoRAs and merges; the first model's weights come back when it is used
without the merge, the second's are never touched; merged models are saved in the original layouts and load back
through the real loaders (ModelSave, CLIPSave, VAESave)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from inkgraph.engine import spec_of
from inkgraph.engine.core.devices import DevicePolicy, ModelManager
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import model_merging as mm
from inkgraph.nodes.diffusion import lora
from inkgraph.nodes.diffusion.families.base import Family
from inkgraph.nodes.diffusion.handles import ClipHandle, Lora, ModelHandle
from inkgraph.nodes.diffusion.merge import unet_original_names
from tests.fixtures import tiny_sd as ts


@pytest.fixture
def models() -> tuple[ModelManager, ModelHandle, ModelHandle]:
    manager = ModelManager.with_policy(DevicePolicy())
    first, second = ts.build("sd1", 1)["unet"], ts.build("sd1", 2)["unet"]
    manager.add("first", first.requires_grad_(False))
    manager.add("second", second.requires_grad_(False))
    return manager, ModelHandle(manager, "first", Family("sd1")), ModelHandle(manager, "second", Family("sd1"))


def weights(handle: Any) -> dict[str, torch.Tensor]:
    with handle.use() as module:
        return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_simple_merge_blends_every_parameter_and_copies_nothing(models: Any) -> None:
    manager, one, two = models
    w1, w2 = weights(one), weights(two)
    merged = mm.ModelMergeSimple(one, two, 0.3)
    assert merged.key == one.key and manager.loads == 2  # the same weights: no model was built
    got = weights(merged)
    assert all(torch.allclose(got[k], 0.3 * w1[k] + 0.7 * w2[k], atol=1e-6) for k in w1)
    assert all(torch.equal(weights(one)[k], w1[k]) for k in w1)  # used plainly again: the originals
    assert all(torch.equal(weights(two)[k], w2[k]) for k in w2)


def test_block_ratios_match_the_original_layout_names(models: Any) -> None:
    _, one, two = models
    w1, w2 = weights(one), weights(two)
    ratios = {name.name: 1.0 for name in spec_of(mm.MODEL_SPECIFIC[0]).inputs[2:]}
    ratios["input_blocks.1."] = 0.0
    merged = mm.MODEL_SPECIFIC[0](one, two, **ratios)
    got = weights(merged)
    with one.use() as module:
        names = unet_original_names(module)
    moved = [k for k in w1 if names[k].startswith("input_blocks.1.")]
    assert moved and all(torch.equal(got[k], w2[k]) for k in moved)
    assert all(torch.equal(got[k], w1[k]) for k in w1 if k not in moved)
    blocks = mm.ModelMergeBlocks(one, two, 0.0, 1.0, 1.0)  # "input" also the ratio of what no block names
    got = weights(blocks)
    assert torch.equal(got["conv_in.weight"], w2["conv_in.weight"])  # input_blocks.0.0
    assert torch.equal(got["conv_out.weight"], w1["conv_out.weight"])  # out.2


def test_subtract_then_add_gives_the_other_model(models: Any) -> None:
    _, one, two = models
    w1, w2 = weights(one), weights(two)
    difference = mm.ModelMergeSubtract(two, one, 1.0)
    got = weights(difference)
    assert all(torch.allclose(got[k], w2[k] - w1[k], atol=1e-6) for k in w1)
    restored = weights(mm.ModelMergeAdd(one, difference))
    assert all(torch.allclose(restored[k], w2[k], atol=1e-5) for k in w1)


def lora_for(module: torch.nn.Module) -> Lora:
    generator = torch.Generator().manual_seed(3)
    weight = module.down_blocks[0].attentions[0].transformer_blocks[0].attn1.to_q.weight
    state = {"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight":
             torch.randn(2, weight.shape[1], generator=generator),
             "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight":
             torch.randn(weight.shape[0], 2, generator=generator)}
    return Lora(lora.parse(state, "tiny_lora"), "tiny_lora", 0.5)


def test_a_model_with_a_lora_minus_itself_is_the_lora(models: Any) -> None:
    manager, one, _ = models
    with one.use() as module:
        patch = lora_for(module)
    with_lora = one.with_lora(patch)
    name = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"
    w1, wl = weights(one), weights(with_lora)
    difference = weights(mm.ModelMergeSubtract(with_lora, one, 1.0))  # the same weights on both sides
    assert torch.allclose(difference[name], wl[name] - w1[name], atol=1e-6) and difference[name].abs().max() > 0
    assert all(torch.allclose(difference[k], torch.zeros_like(v), atol=1e-6) for k, v in w1.items() if k != name)
    # patches apply in order: a LoRA after a merge adds to the blend, before it is blended
    after = weights(mm.ModelMergeSimple(one, with_lora, 0.5).with_lora(patch))
    delta = wl[name] - w1[name]
    assert torch.allclose(after[name], w1[name] + 0.5 * delta + delta, atol=1e-5)


def test_clip_merges_match_encoders_by_slot() -> None:
    manager = ModelManager.with_policy(DevicePolicy())
    a, b = ts.build("sd1", 1)["text_encoder"], ts.build("sd1", 2)["text_encoder"]
    manager.add("a", a.requires_grad_(False))
    manager.add("b", b.requires_grad_(False))
    one = ClipHandle(manager, ("a",), Family("sd1"), slots=("clip_l",))
    two = ClipHandle(manager, ("b",), Family("sd1"), slots=("clip_l",))
    w1, w2 = weights_clip(one), weights_clip(two)
    got = weights_clip(mm.CLIPMergeSimple(one, two, 0.25))
    assert all(torch.allclose(got[k], 0.25 * w1[k] + 0.75 * w2[k], atol=1e-6) for k in w1)
    got = weights_clip(mm.CLIPMergeAdd(one, mm.CLIPMergeSubtract(two, one, 2.0)))
    assert all(torch.allclose(got[k], w1[k] + 2 * (w2[k] - w1[k]), atol=1e-5) for k in w1)
    other = ClipHandle(manager, ("b",), Family("sd1"), slots=("clip_g",))
    assert all(torch.equal(weights_clip(mm.CLIPMergeSimple(one, other, 0.0))[k], w1[k]) for k in w1)  # no such slot
    with pytest.raises(ValueError, match="CLIPMergeSimple: both inputs must be models"):
        mm.CLIPMergeSimple(one, object(), 0.5)


def weights_clip(handle: ClipHandle) -> dict[str, torch.Tensor]:
    with handle.use() as (encoder,):
        return {k: v.detach().clone() for k, v in encoder.named_parameters()}


# -- saving, through the engine ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("merging")
    ts.save_single_file("sd1", root / "models" / "checkpoints" / "a.safetensors", seed=1)
    ts.save_single_file("sd1", root / "models" / "checkpoints" / "b.safetensors", seed=2)
    return Runtime.create(Settings(base_dir=root, cache="none"))


def test_merged_models_are_saved_in_the_original_layouts_and_load_back(runtime: Runtime) -> None:
    from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm

    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
        "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "b.safetensors"}},
        "3": {"class_type": "ModelMergeSD1", "inputs": {"model1": ["1", 0], "model2": ["2", 0], **{
            n.name: 0.5 for n in spec_of(mm.MODEL_SPECIFIC[0]).inputs[2:]}}},
        "4": {"class_type": "ModelSave", "inputs": {"model": ["3", 0], "filename_prefix": "diffusion_models/merged"}},
        "5": {"class_type": "CLIPMergeSimple", "inputs": {"clip1": ["1", 1], "clip2": ["2", 1], "ratio": 0.5}},
        "6": {"class_type": "CLIPSave", "inputs": {"clip": ["5", 0], "filename_prefix": "clip/merged"}},
        "7": {"class_type": "VAESave", "inputs": {"vae": ["1", 2], "filename_prefix": "vae/saved"}},
    }
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    out = runtime.folders.output
    first, second = ts.build("sd1", 1), ts.build("sd1", 2)
    unet = load_file(out / "diffusion_models" / "merged_00001_.safetensors")
    expected = {k: 0.5 * v + 0.5 * second["unet"].state_dict()[k] for k, v in first["unet"].state_dict().items()}
    ldm = unet_diffusers_to_ldm(expected, first["unet"].config)
    assert unet.keys() == ldm.keys() and all(torch.allclose(unet[k], ldm[k], atol=1e-6) for k in ldm)
    clip = load_file(out / "clip" / "merged_clip_l_00001_.safetensors")
    text = {k: 0.5 * v + 0.5 * second["text_encoder"].state_dict()[k]
            for k, v in first["text_encoder"].state_dict().items() if not k.endswith("position_ids")}
    assert all(torch.allclose(clip[k], text[k], atol=1e-6) for k in text)
    vae = load_file(out / "vae" / "saved_00001_.safetensors")
    assert "decoder.conv_in.weight" in vae and "encoder.down.0.block.0.conv1.weight" in vae
    # what was saved loads through UNETLoader and VAELoader
    models = runtime.folders.base / "models"
    (models / "diffusion_models").mkdir(parents=True, exist_ok=True)
    (models / "vae").mkdir(parents=True, exist_ok=True)
    (out / "diffusion_models" / "merged_00001_.safetensors").rename(models / "diffusion_models" / "merged.safetensors")
    (out / "vae" / "saved_00001_.safetensors").rename(models / "vae" / "saved.safetensors")
    reload = {"1": {"class_type": "UNETLoader", "inputs": {"unet_name": "merged.safetensors",
                                                           "weight_dtype": "default"}},
              "2": {"class_type": "VAELoader", "inputs": {"vae_name": "saved.safetensors"}},
              "3": {"class_type": "ModelSave", "inputs": {"model": ["1", 0], "filename_prefix": "again"}}}
    _, outcome = runtime.run(reload)
    assert outcome.status_str == "success", outcome.error
    again = load_file(out / "again_00001_.safetensors")
    assert all(torch.equal(again[k], unet[k]) for k in unet)


def test_saving_outside_the_output_folder_is_refused(runtime: Runtime) -> None:
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
              "2": {"class_type": "VAESave", "inputs": {"vae": ["1", 2], "filename_prefix": "../outside"}}}
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "error" and "outside" in str(outcome.error)
    assert not list(runtime.folders.output.parent.glob("outside*"))

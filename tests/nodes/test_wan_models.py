"""Wan's model layer against plain references: every tiny variant written in the original layout loads back
through the real loaders to the same weights (fp16 and scaled fp8), KSampler's Euler steps over a Wan model
equal a plain loop over the diffusers module, the two-stage KSamplerAdvanced split equals one run, the
image-to-video inputs reach the network as ComfyUI builds them (mask then image latent; Wan 2.2's per-frame
timesteps), lightx2v-style LoRAs patch the layers they name, umT5 encodes as transformers does with
ComfyUI's zero padding, CLIP vision equals the transformers model on ComfyUI's preprocessing, and the Wan
VAEs load from both layouts and decode tiled as whole.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_video as tv

KINDS = ["t2v", "i2v", "i2v22", "flf2v", "fun_control", "ti2v", "vace"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_variant_loads_back_to_the_same_weights(kind: str, tmp_path: Path) -> None:
    model = tv.wan(kind, 1)
    path = tmp_path / "wan.safetensors"
    tv.save_wan(model, path, prefix="model.diffusion_model.", dtype=None)
    detected, _ = detect_file(path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    assert detected.variant == {"i2v22": "i2v"}.get(kind, kind)
    assert detected.family.name == ("wan22" if kind == "ti2v" else "wan21")
    expected, found = model.state_dict(), loaded.state_dict()
    assert expected.keys() == found.keys() and all(torch.equal(expected[k], found[k]) for k in expected)


def test_scaled_fp8_keeps_linear_weights_in_fp8_and_the_time_embedder_in_the_compute_dtype(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion.weights import FP8Linear, dequantized

    model = tv.wan("t2v", 2)
    state = tv.wan_state(model)
    linear = {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2}
    path = tmp_path / "wan2.1_t2v_fp8_scaled.safetensors"
    td.save(td.scaled_fp8(state, linear), path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    query = loaded.blocks[0].attn1.to_q
    assert isinstance(query, FP8Linear) and query.weight.dtype == torch.float8_e4m3fn
    assert torch.allclose(dequantized(query), model.blocks[0].attn1.to_q.weight, rtol=0.07, atol=1e-3)  # e4m3: 3 bits
    assert loaded.condition_embedder.time_embedder.linear_1.weight.dtype == torch.float32


def test_a_camera_model_gets_its_control_adapter(tmp_path: Path) -> None:
    model = tv.wan("i2v", 3)
    path = tmp_path / "wan2.1_fun_camera.safetensors"
    adapter = tv.camera_adapter_state(4)
    tv.save_wan(model, path, dtype=None, extra=adapter)
    detected, _ = detect_file(path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    assert detected.variant == "camera" and detected.extra["camera"] == {"in_channels": 24, "kernel": (2, 2),
                                                                         "blocks": 1}
    assert torch.equal(loaded.camera_adapter.conv.weight, adapter["control_adapter.conv.weight"])


def test_a_truncated_wan_file_names_what_is_missing(tmp_path: Path) -> None:
    state = tv.wan_state(tv.wan("t2v", 1))
    del state["blocks.1.ffn.2.weight"]
    path = tmp_path / "broken.safetensors"
    td.save(state, path)
    with pytest.raises(ModelFileError, match="broken.safetensors.*incomplete.*blocks.1.ffn.net.2.weight"):
        load_diffusion_model(path, torch.float32)


def test_lora_names_are_the_original_layouts() -> None:
    from inkgraph.nodes.diffusion.families.wan_layout import lora_names, to_original

    names = lora_names(tv.wan("i2v", 1))
    assert names["blocks_0_self_attn_q"] == [("blocks.0.attn1.to_q", None)]
    assert names["blocks_1_cross_attn_k_img"] == [("blocks.1.attn2.add_k_proj", None)]
    assert names["blocks_0_ffn_2"] == [("blocks.0.ffn.net.2", None)]
    assert names["head_head"] == [("proj_out", None)]
    assert to_original("vace_blocks.0.proj_in.weight") == "vace_blocks.0.before_proj.weight"
    assert to_original("blocks.3.scale_shift_table") == "blocks.3.modulation"


# --- sampling -------------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None

    def text(self, _: str) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("wan_models")
    models = root / "models"
    (models / "text_encoders").mkdir(parents=True)
    tv.save_umt5(tv.umt5(1), models / "text_encoders" / "umt5_xxl_fp16.safetensors", "fp16")
    tv.save_wan(tv.wan("t2v", 4), models / "diffusion_models" / "t2v.safetensors", dtype=None)
    tv.save_wan(tv.wan("i2v22", 5), models / "diffusion_models" / "i2v22.safetensors", dtype=None)
    tv.save_wan(tv.wan("ti2v", 6), models / "diffusion_models" / "ti2v.safetensors", dtype=None)
    td.save(tv.wan_vae_state(tv.wan_vae("2.1", 7)), models / "vae" / "wan_2.1_vae.safetensors")
    td.save(tv.wan_vae_state(tv.wan_vae("2.2", 8)), models / "vae" / "wan2.2_vae.safetensors")
    (models / "loras").mkdir()
    save_file(tv.wan_lora(tv.wan("t2v", 4), 9), str(models / "loras" / "lightx2v.safetensors"))
    td.save(tv.clip_vision(10).state_dict(), models / "clip_vision" / "clip_vision_h.safetensors")
    tv.save_wan(tv.wan("vace", 11), models / "diffusion_models" / "vace.safetensors", dtype=None)
    tv.save_wan(tv.wan("fun_control", 12), models / "diffusion_models" / "fun_control.safetensors", dtype=None)
    tv.save_wan(tv.wan("i2v", 13), models / "diffusion_models" / "camera.safetensors", dtype=None,
                extra=tv.camera_adapter_state(14))
    (root / "input").mkdir()
    from PIL import Image

    Image.new("RGB", (40, 24), (200, 40, 90)).save(root / "input" / "start.png")
    return Runtime.create(Settings(base_dir=root, cache="none", dtype="fp32"))


def _text(ctx: Ctx, text: str) -> list[Any]:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.loaders import CLIPLoader

    return CLIPTextEncode(ctx, text=text, clip=CLIPLoader(ctx, "umt5_xxl_fp16.safetensors", type="wan"))  # type: ignore[no-any-return]


def test_euler_over_a_wan_model_equals_a_plain_loop_over_the_diffusers_module(runtime: Runtime) -> None:
    from inkgraph.nodes.diffusion.ksampler import prepare_noise, sample
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas
    from inkgraph.nodes.loaders import UNETLoader
    from inkgraph.nodes.model_advanced import ModelSamplingSD3

    ctx = Ctx(runtime)
    model = ModelSamplingSD3(UNETLoader(ctx, "t2v.safetensors", weight_dtype="default"), shift=5.0)
    cond, uncond = _text(ctx, "a cat slowly moves"), _text(ctx, "")
    assert cond[0][0].shape == (1, 512, tv.TEXT_WIDTH)
    latent = torch.zeros(1, 16, 2, 4, 6)
    with torch.no_grad():
        out = sample(ctx, model, 5, 3, 4.0, "euler", "simple", cond, uncond, {"samples": latent})["samples"]  # type: ignore[arg-type]
        sigmas = sampling_sigmas(model.sampling_override, "simple", "euler", 3, 1.0).tolist()
        x = prepare_noise(latent, 5) * sigmas[0]
        with model.use() as module:
            for sigma, following in zip(sigmas, sigmas[1:], strict=False):
                velocity = [module(hidden_states=x, timestep=torch.tensor([sigma * 1000]), encoder_hidden_states=c,
                                   return_dict=False)[0] for c in (cond[0][0], uncond[0][0])]
                guided = velocity[1] + (velocity[0] - velocity[1]) * 4.0
                x = x + guided * (following - sigma)
    from inkgraph.nodes.diffusion.families.wan import WAN21_LATENT

    assert torch.allclose(out, WAN21_LATENT.process_out(x), atol=1e-4)


def test_the_two_stage_ksampler_advanced_split_equals_one_run(runtime: Runtime) -> None:
    from inkgraph.nodes.loaders import UNETLoader
    from inkgraph.nodes.sampling import KSamplerAdvanced

    ctx = Ctx(runtime)
    model = UNETLoader(ctx, "t2v.safetensors", weight_dtype="default")
    cond, uncond = _text(ctx, "a dog"), _text(ctx, "")
    latent = {"samples": torch.zeros(1, 16, 2, 4, 4)}
    common = {"model": model, "noise_seed": 3, "steps": 4, "cfg": 3.0, "sampler_name": "euler",
              "scheduler": "simple", "positive": cond, "negative": uncond}
    with torch.no_grad():
        whole = KSamplerAdvanced(ctx, add_noise="enable", latent_image=latent, start_at_step=0, end_at_step=10000,
                                 return_with_leftover_noise="disable", **common)
        high = KSamplerAdvanced(ctx, add_noise="enable", latent_image=latent, start_at_step=0, end_at_step=2,
                                return_with_leftover_noise="enable", **common)
        low = KSamplerAdvanced(ctx, add_noise="disable", latent_image=high, start_at_step=2, end_at_step=4,
                               return_with_leftover_noise="disable", **{**common, "noise_seed": 0})
    assert torch.allclose(whole["samples"], low["samples"], atol=1e-4)


def test_wan_image_to_video_puts_the_mask_then_the_image_latent_before_the_noise(runtime: Runtime) -> None:
    from inkgraph.nodes.diffusion.conds import EncodeContext
    from inkgraph.nodes.diffusion.families.wan import WAN21_LATENT
    from inkgraph.nodes.loaders import UNETLoader, VAELoader
    from inkgraph.nodes.wan import WanImageToVideo

    ctx = Ctx(runtime)
    vae = VAELoader(ctx, "wan_2.1_vae.safetensors")
    image = torch.rand(1, 24, 40, 3)
    with torch.no_grad():
        positive, _, latent = WanImageToVideo(ctx, [[torch.zeros(1, 512, 32), {}]], [], vae, width=32, height=32,
                                              length=9, batch_size=1, start_image=image)
    options = positive[0][1]
    assert latent["samples"].shape == (1, 16, 3, 4, 4)
    assert options["concat_mask"][0, 0, :, 0, 0].tolist() == [0.0, 1.0, 1.0]
    model = UNETLoader(ctx, "i2v22.safetensors", weight_dtype="default")
    shape = tuple(latent["samples"].shape)
    with model.use() as module:
        conds = model.family.adapter.encode(module, positive[0][0], options,
                                            EncodeContext("positive", shape, torch.device("cpu"), torch.float32))
    concat = conds["concat"]
    assert concat.shape == (1, 20, 3, 4, 4)
    assert concat[:, :4, 0].eq(1).all() and concat[:, :4, 1:].eq(0).all()  # 1 − mask, over 4 channels
    assert torch.allclose(concat[:, 4:], WAN21_LATENT.process_in(options["concat_latent_image"]), atol=1e-6)


def test_wan22_ti2v_keeps_the_first_frame_and_gives_it_timestep_zero(runtime: Runtime) -> None:
    from inkgraph.nodes.diffusion.families.wan_adapter import WanAdapter
    from inkgraph.nodes.diffusion.ksampler import sample
    from inkgraph.nodes.loaders import UNETLoader, VAELoader
    from inkgraph.nodes.wan import Wan22ImageToVideoLatent

    ctx = Ctx(runtime)
    vae = VAELoader(ctx, "wan2.2_vae.safetensors")
    with torch.no_grad():
        latent = Wan22ImageToVideoLatent(ctx, vae, width=32, height=32, length=5, batch_size=1,
                                         start_image=torch.rand(1, 32, 32, 3))
    assert latent["samples"].shape == (1, 48, 2, 2, 2) and latent["noise_mask"].shape == (1, 1, 2, 2, 2)
    model = UNETLoader(ctx, "ti2v.safetensors", weight_dtype="default")
    cond = _text(ctx, "a cat")
    seen: list[torch.Tensor] = []
    original = WanAdapter.apply

    def spy(self: WanAdapter, module: Any, x_in: torch.Tensor, timestep: torch.Tensor, conds: Any) -> Any:
        seen.append(conds["frame_scale"].clone())
        return original(self, module, x_in, timestep, conds)

    WanAdapter.apply = spy  # type: ignore[method-assign]
    try:
        with torch.no_grad():
            out = sample(ctx, model, 1, 2, 1.0, "euler", "simple", cond, cond, latent)["samples"]  # type: ignore[arg-type]
    finally:
        WanAdapter.apply = original  # type: ignore[method-assign]
    assert seen and seen[0].tolist() == [[0.0, 1.0]]
    assert torch.allclose(out[:, :, :1], latent["samples"][:, :, :1], atol=1e-5)  # the given frame is kept
    assert not torch.allclose(out[:, :, 1:], latent["samples"][:, :, 1:], atol=1e-2)


def test_a_lightx2v_style_lora_patches_the_layers_it_names(runtime: Runtime) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    ctx = Ctx(runtime)
    base = UNETLoader(ctx, "t2v.safetensors", weight_dtype="default")
    with base.use() as module:
        before = module.blocks[0].attn1.to_q.weight.clone()
        norm = module.blocks[0].norm2.weight.clone()
    patched = LoraLoaderModelOnly(ctx, base, "lightx2v.safetensors", strength_model=1.0)
    with patched.use() as module:
        after = module.blocks[0].attn1.to_q.weight.clone()
        assert torch.equal(module.blocks[0].norm2.weight, norm)
    from safetensors.torch import load_file

    lora = load_file(str(runtime.folders.model_path("loras", "lightx2v.safetensors")))
    stem = "diffusion_model.blocks.0.self_attn.q"
    delta = lora[stem + ".lora_up.weight"] @ lora[stem + ".lora_down.weight"]  # alpha = rank: scale 1
    assert torch.allclose(after - before, delta, atol=1e-5)


# --- umT5, CLIP vision, VAEs -----------------------------------------------------------------------------


def test_umt5_encodes_as_transformers_with_comfyuis_zero_padding_and_emphasis(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion.encoders import files
    from inkgraph.nodes.diffusion.encoders.wan import encode_umt5, umt5_rules

    model = tv.umt5(3)
    path = tmp_path / "umt5_xxl_fp16.safetensors"
    tv.save_umt5(model, path, "fp16")
    (found,) = files.find_file(path)
    assert found.kind.name == "umt5xxl"
    encoder = files.load(path, found, torch.float32)
    rules = umt5_rules(encoder)
    ids = rules.words("a cat slowly moves")
    assert ids == [4, 16, 13, 14]  # the file's own SentencePiece model: whole words
    with torch.no_grad():
        out = encode_umt5(encoder, "a cat slowly moves", None, None)
        reference = model.half().float()(input_ids=torch.tensor([ids + [1]])).last_hidden_state
        weighted = encode_umt5(encoder, "a (cat:1.5) slowly moves", None, None)
        empty = model.half().float()(input_ids=torch.tensor([[1]])).last_hidden_state
    assert out.shape == (1, 512, tv.TEXT_WIDTH)
    assert torch.allclose(out[0, :5], reference[0], atol=1e-4) and out[0, 5:].eq(0).all()
    baseline = torch.zeros_like(reference)
    baseline[:, 0] = empty[:, 0]
    expected = reference.clone()
    expected[:, 1] = (reference[:, 1] - baseline[:, 1]) * 1.5 + baseline[:, 1]
    assert torch.allclose(weighted[:, :5], expected, atol=1e-4)


def test_a_umt5_file_without_its_tokenizer_is_refused_with_the_reason(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion.encoders import files

    state = tv.umt5_state(tv.umt5(1))
    del state["spiece_model"]
    path = tmp_path / "umt5_bare.safetensors"
    td.save(state, path)
    (found,) = files.find_file(path)
    with pytest.raises(ModelFileError, match="umt5_bare.safetensors.*no tokenizer.*spiece_model"):
        files.load(path, found, torch.float32)


def test_clip_vision_encode_equals_transformers_on_comfyuis_preprocessing(runtime: Runtime) -> None:
    from inkgraph.nodes.clip_vision import CLIPVisionEncode, CLIPVisionLoader
    from inkgraph.nodes.diffusion.clip_vision import CLIP_MEAN as MEAN
    from inkgraph.nodes.diffusion.clip_vision import CLIP_STD as STD
    from inkgraph.nodes.diffusion.clip_vision import preprocess

    image = torch.rand(1, 30, 50, 3)
    pixels = preprocess(image, 28, MEAN, STD, crop=True)
    scaled = torch.nn.functional.interpolate(image.movedim(-1, 1), size=(28, 47), mode="bicubic", antialias=True)
    by_hand = (torch.clip(scaled[:, :, :, 9:37] * 255, 0, 255).round() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) \
        / torch.tensor(STD).view(1, 3, 1, 1)
    assert torch.allclose(pixels, by_hand, atol=1e-6)
    ctx = Ctx(runtime)
    with torch.no_grad():
        out = CLIPVisionEncode(CLIPVisionLoader(ctx, "clip_vision_h.safetensors"), image, crop="center")
        reference = tv.clip_vision(10)(pixel_values=pixels, output_hidden_states=True)
    assert torch.allclose(out.penultimate_hidden_states, reference.hidden_states[-2], atol=1e-5)
    assert torch.allclose(out["image_embeds"], reference.image_embeds, atol=1e-5)
    assert out.penultimate_hidden_states.shape == (1, tv.CLIP_TOKENS, tv.CLIP_WIDTH)


@pytest.mark.parametrize("version", ["2.1", "2.2"])
def test_wan_vaes_load_and_tiled_decoding_covering_everything_equals_whole(version: str, tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion import vae_files, video_vae

    model = tv.wan_vae(version, 2)
    path = tmp_path / "vae.safetensors"
    td.save({"vae." + k: v for k, v in tv.wan_vae_state(model).items()}, path)  # also under a checkpoint prefix
    loaded = vae_files.load(path, torch.float32)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(),
                                                   strict=True))
    scale = video_vae.spatial(loaded)
    assert scale == (16 if version == "2.2" else 8)
    frames = torch.rand(9, 2 * scale, 3 * scale, 3)
    with torch.no_grad():
        latent = video_vae.encode(loaded, frames)
        assert latent.shape == (1, 48 if version == "2.2" else 16, 3, 2, 3)
        whole = video_vae.decode(loaded, latent)
        assert whole.shape == (9, 2 * scale, 3 * scale, 3)
        assert torch.equal(video_vae.decode_tiled(loaded, latent, 64, 8, 64, 2), whole)
        pieces = video_vae.decode_tiled(loaded, latent, 2, 1, 2, 1)  # 2×2 cells, 2 latent frames a chunk
        assert pieces.shape == whole.shape and (pieces - whole).abs().max() < 0.1
        assert torch.equal(video_vae.encode_tiled(loaded, frames, 4096, 0, 4096, 8), latent)


def test_the_vae_nodes_give_frames_as_an_image_batch(runtime: Runtime) -> None:
    from inkgraph.nodes.loaders import VAELoader
    from inkgraph.nodes.vae import VAEDecode, VAEDecodeTiled, VAEEncode, VAEEncodeTiled

    ctx = Ctx(runtime)
    vae = VAELoader(ctx, "wan_2.1_vae.safetensors")
    frames = torch.rand(5, 33, 40, 3)  # cropped to 32×40
    with torch.no_grad():
        latent = VAEEncode(ctx, frames, vae)
        assert latent["samples"].shape == (1, 16, 2, 4, 5)
        images = VAEDecode(ctx, latent, vae)
        tiled = VAEDecodeTiled(ctx, latent, vae, tile_size=512, overlap=64, temporal_size=64, temporal_overlap=8)
        assert torch.equal(images, tiled)
        again = VAEEncodeTiled(ctx, images, vae, tile_size=512, overlap=64, temporal_size=64, temporal_overlap=8)
    assert images.shape == (5, 32, 40, 3)
    assert again["samples"].shape == latent["samples"].shape


def test_a_video_model_receives_empty_image_latents_shaped_for_it() -> None:
    from inkgraph.nodes.diffusion.families.base import Family
    from inkgraph.nodes.diffusion.families.wan import Wan22
    from inkgraph.nodes.diffusion.ksampler import fix_empty_latent_channels

    family = Family("wan22", detected=SimpleNamespace(family=Wan22()))  # type: ignore[arg-type]
    model = SimpleNamespace(family=family)
    hunyuan = {"samples": torch.zeros(1, 16, 3, 8, 12), "downscale_ratio_spacial": 8}
    assert fix_empty_latent_channels(model, hunyuan)["samples"].shape == (1, 48, 3, 4, 6)
    image = {"samples": torch.zeros(2, 4, 4, 6)}
    assert fix_empty_latent_channels(model, image)["samples"].shape == (2, 48, 1, 4, 6)
    given = {"samples": torch.ones(1, 48, 2, 4, 6)}
    assert fix_empty_latent_channels(model, given) is given


def _video_prompt(unet: str, conditioning: dict[str, Any]) -> dict[str, Any]:
    """UNETLoader → CLIPLoader → CLIPTextEncode ×2 → (the Wan node "10") → KSampler → TrimVideoLatent →
    VAEDecode → PreviewImage, 32×32 pixels and 5 frames."""
    node = dict(conditioning)
    node["inputs"] = {"positive": ["4", 0], "negative": ["5", 0], "vae": ["3", 0], "width": 32, "height": 32,
                      "length": 5, "batch_size": 1, **conditioning["inputs"]}
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": unet, "weight_dtype": "default"}},
        "2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5_xxl_fp16.safetensors", "type": "wan"}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "wan_2.1_vae.safetensors"}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "a dragon warrior", "clip": ["2", 0]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 0]}},
        "6": {"class_type": "LoadImage", "inputs": {"image": "start.png"}},
        "7": {"class_type": "CLIPVisionLoader", "inputs": {"clip_name": "clip_vision_h.safetensors"}},
        "8": {"class_type": "CLIPVisionEncode", "inputs": {"clip_vision": ["7", 0], "image": ["6", 0], "crop": "none"}},
        "10": node,
        "11": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": 3.0, "sampler_name": "euler",
                                                    "scheduler": "simple", "denoise": 1.0, "model": ["1", 0],
                                                    "positive": ["10", 0], "negative": ["10", 1],
                                                    "latent_image": ["10", 2]}},
        "12": {"class_type": "TrimVideoLatent", "inputs": {"samples": ["11", 0], "trim_amount": 0}},
        "13": {"class_type": "VAEDecode", "inputs": {"samples": ["12", 0], "vae": ["3", 0]}},
        "14": {"class_type": "SaveImage", "inputs": {"images": ["13", 0], "filename_prefix": "wan"}},
    }


def _frames(runtime: Runtime, outcome: Any) -> list[Any]:
    import numpy as np
    from PIL import Image

    items = outcome.outputs["14"]["images"]
    return [np.asarray(Image.open(runtime.folders.resolve(i["type"], i["filename"], i["subfolder"])), dtype=float)
            for i in items]


def test_vace_with_a_reference_image_samples_and_trims_it_off(runtime: Runtime) -> None:
    prompt = _video_prompt("vace.safetensors", {"class_type": "WanVaceToVideo", "inputs": {
        "strength": 1.0, "reference_image": ["6", 0]}})
    prompt["12"]["inputs"]["trim_amount"] = ["10", 3]
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    frames = _frames(runtime, outcome)
    assert len(frames) == 5 and frames[0].shape == (32, 32, 3)
    weaker = _video_prompt("vace.safetensors", {"class_type": "WanVaceToVideo", "inputs": {
        "strength": 0.0, "reference_image": ["6", 0]}})
    weaker["12"]["inputs"]["trim_amount"] = ["10", 3]
    _, without = runtime.run(weaker)
    assert any(abs(a - b).max() > 0 for a, b in zip(frames, _frames(runtime, without), strict=True))


def test_fun_control_and_camera_models_sample_with_their_inputs(runtime: Runtime) -> None:
    control = _video_prompt("fun_control.safetensors", {"class_type": "WanFunControlToVideo", "inputs": {
        "clip_vision_output": ["8", 0], "start_image": ["6", 0], "control_video": ["6", 0]}})
    _, outcome = runtime.run(control)
    assert outcome.status_str == "success", outcome.error
    assert len(_frames(runtime, outcome)) == 5
    results = []
    for pose in ("Static", "Zoom In"):
        prompt = _video_prompt("camera.safetensors", {"class_type": "WanCameraImageToVideo", "inputs": {
            "clip_vision_output": ["8", 0], "start_image": ["6", 0], "camera_conditions": ["9", 0]}})
        prompt["9"] = {"class_type": "WanCameraEmbedding", "inputs": {"camera_pose": pose, "width": 32, "height": 32,
                                                                      "length": 5}}
        _, outcome = runtime.run(prompt)
        assert outcome.status_str == "success", outcome.error
        results.append(_frames(runtime, outcome))
    assert any(abs(a - b).max() > 0 for a, b in zip(*results, strict=True))  # the trajectory reaches the model

"""HunyuanVideo 1.5's super-resolution stage against ComfyUI's source (``comfy_extras/nodes_hunyuan.py``,
``comfy/ldm/hunyuan_video/upsampler.py``, ``model_base.HunyuanVideo15_SR_Distilled``, ``ldm/hunyuan_video/
model.py``'s MeanFlow ``time_r``) and plain references:

- /object_info of LatentUpscaleModelLoader, HunyuanVideo15LatentUpscaleWithModel, HunyuanVideo15SuperResolution;
- the 720p upsampler equals a plain functional loop over the file's tensors, the 1080p one equals the same
  network put together from diffusers' HunyuanVideo 1.5 VAE blocks; through the nodes, the latent is resized
  as ComfyUI sizes it (a zero side follows the other, at least 64 pixels) before refining;
- HunyuanVideo15SuperResolution's channels as ComfyUI lays them out;
- the super-resolution transformer's conditioning: noise augmentation hand-computed from the seed; the network
  call equals diffusers' module with the time embeddings averaged by hand, ``timestep_r`` the next σ;
- ComfyUI's HunyuanVideo 1.5 T2V and I2V templates with their super-resolution stage switched on run on tiny
  models and save a playable, upscaled video.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_hunyuan as th
from tests.fixtures.media import decode_video

COND = "CONDITIONING"
METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
# class_type: (category, display name, required, optional, outputs (type, name))
REFERENCE: dict[str, tuple[str, str, list[Any], list[Any], list[tuple[str, str]]]] = {
    "LatentUpscaleModelLoader": ("loaders", "Load Latent Upscale Model", [("model_name", list, {})], [],
                                 [("LATENT_UPSCALE_MODEL", "LATENT_UPSCALE_MODEL")]),
    "HunyuanVideo15LatentUpscaleWithModel": (
        "latent", "Hunyuan Video 15 Latent Upscale With Model",
        [("model", "LATENT_UPSCALE_MODEL", {}), ("samples", "LATENT", {}),
         ("upscale_method", METHODS, {"default": "bilinear"}),
         ("width", "INT", {"default": 1280, "min": 0, "max": 16384, "step": 8}),
         ("height", "INT", {"default": 720, "min": 0, "max": 16384, "step": 8}),
         ("crop", ["disabled", "center"], {})], [], [("LATENT", "LATENT")]),
    "HunyuanVideo15SuperResolution": (  # no category in ComfyUI's schema: io.Schema's default, "sd"
        "sd", "HunyuanVideo15SuperResolution",
        [("positive", COND, {}), ("negative", COND, {}), ("latent", "LATENT", {}),
         ("noise_augmentation", "FLOAT", {"default": 0.70, "min": 0.0, "max": 1.0, "step": 0.01})],
        [("vae", "VAE", {}), ("start_image", "IMAGE", {}), ("clip_vision_output", "CLIP_VISION_OUTPUT", {})],
        [(COND, "positive"), (COND, "negative"), ("LATENT", "latent")]),
}


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(registry: NodeRegistry, class_type: str) -> None:
    category, display, required, optional, outputs = REFERENCE[class_type]
    spec = registry.get(class_type)
    assert spec is not None, class_type
    info = node_info(spec, None)
    assert (info["name"], info["category"], info["display_name"]) == (class_type, category, display)
    order = {"required": [n for n, _, _ in required], **({"optional": [n for n, _, _ in optional]} if optional else {})}
    assert info["input_order"] == order
    for section, inputs in (("required", required), ("optional", optional)):
        for name, kind, options in inputs:
            config = info["input"][section][name]
            if kind is list:
                assert isinstance(config[0], list), name
                continue
            assert config[0] == kind, name
            assert (config[1] if len(config) > 1 else {}) == options, name
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]
    assert info["output_node"] is False


def _causal(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """ComfyUI's VideoConv3d by hand: replicate padding, two frames before, none after."""
    pad = weight.shape[-1] // 2
    if pad:
        x = F.pad(x, (pad, pad, pad, pad, weight.shape[-1] - 1, 0), mode="replicate")
    return F.conv3d(x, weight, bias)


def reference_720p(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    def conv(name: str, h: torch.Tensor) -> torch.Tensor:
        return _causal(h, state[name + ".weight"], state[name + ".bias"])

    y = conv("in_conv.conv", x)
    for n in range(len({k.split(".")[1] for k in state if k.startswith("blocks.")})):
        h = conv(f"blocks.{n}.block.4.conv", F.silu(conv(f"blocks.{n}.block.2.conv",
                                                           F.silu(conv(f"blocks.{n}.block.0.conv", y)))))
        y = y + h
    return conv("out_conv.conv", y)


def reference_1080p(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The 1080p network out of diffusers' HunyuanVideo 1.5 VAE blocks (its resnet block, causal conv, RMS norm)."""
    from diffusers.models.autoencoders.autoencoder_kl_hunyuanvideo15 import (
        HunyuanVideo15CausalConv3d,
        HunyuanVideo15ResnetBlock,
        HunyuanVideo15RMS_norm,
    )

    def conv(name: str) -> Any:
        weight = state[name + ".weight"]
        module = HunyuanVideo15CausalConv3d(weight.shape[1], weight.shape[0], kernel_size=3)
        module.conv.load_state_dict({"weight": weight, "bias": state[name + ".bias"]})
        return module

    width = state["conv_in.conv.weight"].shape[0]
    with torch.no_grad():
        h = conv("conv_in.conv")(x) + x.repeat_interleave(width // x.shape[1], dim=1)
        stages = len({k.split(".")[1] for k in state if k.startswith("up.")})
        for i in range(stages):
            for j in range(len({k.split(".")[3] for k in state if k.startswith(f"up.{i}.block.")})):
                stem = f"up.{i}.block.{j}."
                cin, cout = state[stem + "conv1.conv.weight"].shape[1], state[stem + "conv1.conv.weight"].shape[0]
                block = HunyuanVideo15ResnetBlock(cin, cout)
                renamed = {k[len(stem):].replace("nin_shortcut.", "conv_shortcut."): v
                           for k, v in state.items() if k.startswith(stem)}
                block.load_state_dict(renamed)
                h = block(h)
        norm = HunyuanVideo15RMS_norm(h.shape[1], images=False)
        norm.load_state_dict({"gamma": state["norm_out.gamma"]})
        return conv("conv_out.conv")(F.silu(norm(h)))


class _Ctx:
    def __init__(self, root: Path) -> None:
        from inkgraph.engine.core.settings import Settings
        from inkgraph.engine.runtime import Runtime

        runtime = Runtime.create(Settings(base_dir=root, cache="none"))
        self.models, self.folders, self.extra_data, self.node_id = runtime.models, runtime.folders, {}, "t"

    def progress(self, *args: object, **kwargs: object) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


@pytest.mark.parametrize(("kind", "reference"), [("720p", reference_720p), ("1080p", reference_1080p)])
def test_the_upsamplers_equal_plain_references_through_the_nodes(tmp_path: Path, kind: str, reference: Any) -> None:
    from inkgraph.nodes.hunyuan_sr import HunyuanVideo15LatentUpscaleWithModel, LatentUpscaleModelLoader
    from inkgraph.nodes.image_utils import common_upscale

    state = th.upsampler_720p_state(1) if kind == "720p" else th.upsampler_1080p_state(2)
    name = f"hunyuanvideo15_latent_upsampler_{kind}.safetensors"
    td.save(state, tmp_path / "models" / "latent_upscale_models" / name, dtype=torch.float16)
    state = {k: v.half().float() for k, v in state.items()}  # what the fp16 file holds
    model = LatentUpscaleModelLoader(_Ctx(tmp_path), name)  # type: ignore[arg-type]
    assert model.kind == kind
    torch.manual_seed(0)
    latent = torch.randn(1, 32, 3, 4, 6)
    for width, height, size in ((192, 128, (8, 12)), (0, 96, (6, 9)), (80, 0, (4, 5)), (16, 16, (4, 4))):
        out = HunyuanVideo15LatentUpscaleWithModel(model, {"samples": latent}, "bilinear", width, height,
                                                   crop="disabled")["samples"]
        assert out.shape == (1, 32, 3, *size) and out.dtype == torch.float32
        resized = common_upscale(latent, size[1], size[0], "bilinear", "disabled")
        torch.testing.assert_close(out, reference(state, resized), rtol=1e-4, atol=1e-5)
    same = {"samples": latent}
    assert HunyuanVideo15LatentUpscaleWithModel(model, same, "bilinear", 0, 0, crop="disabled") is same


def test_an_ltx_upsampler_or_another_file_is_refused_by_name(tmp_path: Path) -> None:
    from inkgraph.nodes.hunyuan_sr import LatentUpscaleModelLoader

    folder = tmp_path / "models" / "latent_upscale_models"
    td.save({"post_upsample_res_blocks.0.conv2.bias": torch.zeros(4)}, folder / "ltxv-spatial-upscaler.safetensors")
    td.save({"weight": torch.zeros(4)}, folder / "other.safetensors")
    ctx = _Ctx(tmp_path)
    with pytest.raises(ValueError, match="ltxv-spatial-upscaler.safetensors is an LTX-Video / LTX-2 latent upsampler"):
        LatentUpscaleModelLoader(ctx, "ltxv-spatial-upscaler.safetensors")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="other.safetensors is not a latent upscale model"):
        LatentUpscaleModelLoader(ctx, "other.safetensors")  # type: ignore[arg-type]


def test_super_resolution_lays_out_comfyuis_channels(tmp_path: Path) -> None:
    from inkgraph.nodes.hunyuan_sr import HunyuanVideo15SuperResolution

    latent = {"samples": torch.randn(1, 32, 2, 3, 4)}
    positive, negative = [[torch.zeros(1, 2, 4), {}]], [[torch.ones(1, 2, 4), {"x": 1}]]
    pos, neg, out = HunyuanVideo15SuperResolution(None, positive, negative, latent, 0.3)  # type: ignore[arg-type]
    assert out is latent
    [[_, options]] = pos
    cond = options["concat_latent_image"]
    assert cond.shape == (1, 66, 2, 3, 4) and options["noise_augmentation"] == 0.3
    assert torch.equal(cond[:, :33], torch.zeros(1, 33, 2, 3, 4))
    assert torch.equal(cond[:, 33:65], latent["samples"]) and torch.equal(cond[:, 65], torch.ones(1, 2, 3, 4))
    assert neg[0][1]["x"] == 1 and neg[0][1]["concat_latent_image"] is cond

    class Vae:  # encodes any frames to a latent of known values (one latent frame per 4 frames, the first alone)
        def use(self) -> Any:
            from contextlib import nullcontext

            return nullcontext(self)

    import inkgraph.nodes.hunyuan_sr as sr

    seen: list[Any] = []

    def encode(ctx: Any, vae: Any, pixels: torch.Tensor) -> torch.Tensor:
        seen.append(pixels.shape)
        return torch.full((1, 32, 1, 3, 4), 5.0)

    original, sr._encode = sr._encode, encode  # type: ignore[assignment]
    try:
        pos, _, _ = HunyuanVideo15SuperResolution(None, positive, negative, latent, 0.0, vae=Vae(),  # type: ignore[arg-type]
                                                  start_image=torch.rand(1, 20, 30, 3))
    finally:
        sr._encode = original  # type: ignore[assignment]
    assert seen == [(1, 48, 64, 3)]  # resized to 16× the latent
    cond = pos[0][1]["concat_latent_image"]
    assert torch.equal(cond[:, :32, :1], torch.full((1, 32, 1, 3, 4), 5.0)) and not cond[:, :32, 1:].any()
    assert not cond[:, 32].any()
    # ComfyUI flags the start image in channel 33 (the latent's first) on the first frame
    assert torch.equal(cond[:, 33, 0], torch.ones(1, 3, 4)) and torch.equal(cond[:, 33, 1], latent["samples"][:, 0, 1])


@pytest.fixture(scope="module")
def sr_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model

    model = th.transformer(7, in_channels=98, meanflow=True).eval()
    path = tmp_path_factory.mktemp("sr") / "hunyuanvideo1.5_1080p_sr_distilled_fp16.safetensors"
    td.save(th.transformer_state(model), path)
    detected, _ = detect_file(path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    return model, detected, loaded


def test_the_sr_model_is_detected_with_its_shift(sr_model: tuple[Any, Any, Any]) -> None:
    _, detected, _ = sr_model
    assert detected.family.name == "hunyuan_video15" and detected.variant == "sr_distilled"
    assert detected.config["in_channels"] == 98 and detected.config["use_meanflow"] is True
    sampling = detected.family.model_sampling(detected)
    assert float(sampling.timestep(torch.tensor([0.5]))[0]) == pytest.approx(500.0)
    assert float(sampling.sigma(torch.tensor([500.0]))[0]) == pytest.approx(2 * 0.5 / (1 + 0.5))  # shift 2


def _ctx(shape: tuple[int, ...], seed: int | None) -> Any:
    return SimpleNamespace(device=torch.device("cpu"), dtype=torch.float32, latent_shape=shape, denoise_mask=None,
                           seed=seed)


@pytest.mark.parametrize("strength", [0.0, 0.7, 0.2])
def test_the_noise_augmentation_is_comfyuis(sr_model: tuple[Any, Any, Any], strength: float) -> None:
    _, detected, loaded = sr_model
    adapter = detected.family.adapter(detected)
    low = torch.randn(1, 32, 2, 2, 3)
    cond = torch.zeros(1, 66, 2, 2, 3)
    cond[:, 33:65], cond[:, 65] = low, 1
    options = {"concat_latent_image": cond, "noise_augmentation": strength}
    conds = adapter.encode(loaded, torch.randn(1, 4, th.TEXT_WIDTH), options, _ctx((1, 32, 2, 4, 6), 889))
    resized = F.interpolate(low.flatten(1, 2), size=(4, 6), mode="bilinear").view(1, 32, 2, 4, 6)
    noise = torch.randn(1, 32, 2, 4, 6, generator=torch.Generator().manual_seed(879))
    expected = strength * noise + min(1 - strength, 0.75) * resized if strength else 0.75 * resized
    assert conds["concat"].shape == (1, 66, 2, 4, 6)
    torch.testing.assert_close(conds["concat"][:, 33:65], expected)
    assert torch.equal(conds["concat"][:, 65], torch.ones(1, 2, 4, 6)) and not conds["concat"][:, :33].any()
    assert torch.equal(cond[:, 33:65], low)  # the conditioning is left as it was
    absent = adapter.encode(loaded, torch.randn(1, 4, th.TEXT_WIDTH), {}, _ctx((1, 32, 2, 4, 6), None))
    assert torch.equal(absent["concat"], torch.zeros(1, 66, 2, 4, 6))
    if strength:  # DisableNoise's seed is 0: the draw is seeded with -10
        zero = adapter.encode(loaded, torch.randn(1, 4, th.TEXT_WIDTH), options, _ctx((1, 32, 2, 4, 6), 0))
        noise = torch.randn(1, 32, 2, 4, 6, generator=torch.Generator().manual_seed(-10))
        torch.testing.assert_close(zero["concat"][:, 33:65], strength * noise + min(1 - strength, 0.75) * resized)


def test_the_network_call_averages_the_time_embeddings_with_the_next_sigma(sr_model: tuple[Any, Any, Any]) -> None:
    model, detected, loaded = sr_model
    adapter = detected.family.adapter(detected)
    assert adapter.reads_options
    torch.manual_seed(1)
    x = torch.randn(1, 32, 2, 2, 3)
    context = torch.randn(1, 5, th.TEXT_WIDTH)
    ctx = _ctx(tuple(x.shape), 3)
    schedule = torch.tensor([1.0, 0.6, 0.25, 0.0])

    def reference(timestep: torch.Tensor, following: float | None) -> torch.Tensor:
        embed = model.time_embed

        def averaged(t: torch.Tensor, timestep_r: torch.Tensor | None = None) -> torch.Tensor:
            main = embed.timestep_embedder(embed.time_proj(t))
            if timestep_r is None:
                return main  # type: ignore[no-any-return]
            return (main + embed.timestep_embedder_r(embed.time_proj_r(timestep_r))) / 2  # type: ignore[no-any-return]

        extra = {} if following is None else {"timestep_r": torch.tensor([following * 1000.0])}
        original = embed.forward
        embed.forward = averaged
        try:
            return model(hidden_states=torch.cat([x, torch.zeros(1, 66, 2, 2, 3)], dim=1), timestep=timestep,
                         encoder_hidden_states=context, encoder_attention_mask=torch.ones(1, 5, dtype=torch.bool),
                         encoder_hidden_states_2=torch.zeros(1, 0, th.BYT5_WIDTH),
                         encoder_attention_mask_2=torch.ones(1, 0, dtype=torch.bool),
                         image_embeds=torch.zeros(1, 0, th.IMAGE_WIDTH), return_dict=False, **extra)[0]
        finally:
            embed.forward = original

    with torch.no_grad():
        conds = adapter.encode(loaded, context, {}, ctx)
        for sigma, following in ((0.6, 0.25), (0.25, 0.0), (0.4, None)):  # 0.4: not in the schedule
            options = {"sigmas": torch.tensor([sigma]), "sample_sigmas": schedule}
            timestep = torch.tensor([sigma * 1000.0])
            found = adapter.apply(loaded, x, timestep, conds, transformer_options=options)
            torch.testing.assert_close(found, reference(timestep, following), rtol=1e-4, atol=1e-5)
        with_r = adapter.apply(loaded, x, torch.tensor([600.0]), conds,
                               transformer_options={"sigmas": torch.tensor([0.6]), "sample_sigmas": schedule})
        without = adapter.apply(loaded, x, torch.tensor([600.0]), conds)
        assert not torch.allclose(with_r, without)  # the next σ matters


TEMPLATE_SR = {"video_hunyuan_video_1.5_720p_t2v": 24, "video_hunyuan_video_1.5_720p_i2v": 24}


@pytest.fixture(scope="module")
def sr_runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime
    from tests.fixtures import tiny_qwen as tq

    root = tmp_path_factory.mktemp("hunyuan15_sr")
    m = root / "models"
    qwen = tq.comfy_qwen_vl_state(tq.qwen_vl(1, vision=False))
    td.save({k: v.half() for k, v in qwen.items()}, m / "text_encoders" / "qwen_2.5_vl_7b_fp8_scaled.safetensors")
    td.save(th.byt5_state(th.byt5(2)), m / "text_encoders" / "byt5_small_glyphxl_fp16.safetensors",
            dtype=torch.float16)
    for kind, seed in (("t2v", 3), ("i2v", 4)):
        td.save(th.transformer_state(th.transformer(seed)),
                m / "diffusion_models" / f"hunyuanvideo1.5_720p_{kind}_fp16.safetensors", dtype=torch.float16)
    td.save(th.transformer_state(th.transformer(8, in_channels=98, meanflow=True)),
            m / "diffusion_models" / "hunyuanvideo1.5_1080p_sr_distilled_fp16.safetensors", dtype=torch.float16)
    upsampler = m / "latent_upscale_models" / "hunyuanvideo15_latent_upsampler_1080p.safetensors"
    td.save(th.upsampler_1080p_state(9), upsampler, dtype=torch.float16)
    td.save(th.vae_state(th.vae(5)), m / "vae" / "hunyuanvideo15_vae_fp16.safetensors", dtype=torch.float16)
    siglip = th.siglip(6)
    td.save(siglip.state_dict(), m / "clip_vision" / "sigclip_vision_patch14_384.safetensors",
            prefix="" if next(iter(siglip.state_dict())).startswith("vision_model.") else "vision_model.",
            dtype=torch.float16)
    (root / "input").mkdir()
    return Runtime.create(Settings(base_dir=root, cache="none"))


@pytest.mark.parametrize("name", sorted(TEMPLATE_SR))
def test_the_templates_run_with_their_super_resolution_stage_switched_on(sr_runtime: Any, name: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from inkgraph.nodes.diffusion.families.hunyuan_adapter import HunyuanVideo15Adapter
    from tests.nodes.test_hunyuan_video_workflows import SIDE, small, template

    following: list[float | None] = []
    lookup = HunyuanVideo15Adapter.next_sigma
    monkeypatch.setattr(HunyuanVideo15Adapter, "next_sigma",
                        staticmethod(lambda options: following.append(lookup(options)) or following[-1]))

    workflow_nodes = _bypassed(name)
    prompt = small(template(name, sr_runtime, frozenset(workflow_nodes)))
    types = {n["class_type"] for n in prompt.values()}
    assert types >= {"LatentUpscaleModelLoader", "HunyuanVideo15LatentUpscaleWithModel",
                     "HunyuanVideo15SuperResolution", "SplitSigmas", "DisableNoise"}
    for node in prompt.values():  # the SR stage's 8 steps split at 4 → 4 steps split at 2
        if node["class_type"] == "SplitSigmas":
            node["inputs"]["step"] = 2
        if node["class_type"] == "BasicScheduler" and _is_sr(prompt, node):
            node["inputs"]["steps"] = 4
    _, outcome = sr_runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    sizes = set()
    for output in outcome.outputs.values():
        for entry in output.get("images", []):
            video = decode_video(sr_runtime.folders.resolve(entry["type"], entry["filename"], entry["subfolder"]))
            assert len(video["frames"]) == 5 and video["rate"] == TEMPLATE_SR[name]
            sizes.add((video["width"], video["height"]))
    # the 720p stage's video and the super-resolved one (the latent upscaled to max(64, 32) pixels a side)
    assert sizes == {(SIDE, SIDE), (64, 64)}
    # the super-resolution model's calls (2 + 2 steps, one call each at cfg 1) were given the next σ
    assert len(following) == 4 and all(f is not None for f in following) and following[-1] == 0.0


def _bypassed(name: str) -> set[int]:
    """The ids of the template's bypassed nodes but its EasyCache ones (left off, as the template ships them)."""
    import json

    from tests.nodes.test_hunyuan_video_workflows import TEMPLATES

    workflow = json.loads((TEMPLATES / f"{name}.json").read_text())
    return {n["id"] for n in workflow["nodes"] if n.get("mode") == 4 and n["type"] != "EasyCache"}


def _is_sr(prompt: dict[str, Any], scheduler: dict[str, Any]) -> bool:
    """Whether a BasicScheduler feeds a SplitSigmas (the super-resolution stage's)."""
    ids = [k for k, v in prompt.items() if v is scheduler]
    return any(n["class_type"] == "SplitSigmas" and n["inputs"]["sigmas"][0] in ids for n in prompt.values())

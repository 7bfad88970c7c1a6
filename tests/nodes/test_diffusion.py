"""Diffusion nodes end to end on tiny models built in code, loaded through the real loaders, offline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion import checkpoint as ckpt
from inkgraph.nodes.diffusion.guidance import CFGGuider, denoiser_for
from inkgraph.nodes.diffusion.ksampler import prepare_noise
from inkgraph.nodes.diffusion.samplers import SAMPLERS, euler
from inkgraph.nodes.diffusion.schedules import DiscreteSchedule, sampling_sigmas, schedule_sigmas
from inkgraph.nodes.diffusion.text import tokenize
from tests.fixtures.tiny_sd import build, save_diffusers_folder, save_single_file

KINDS = ("sd1", "sd2v", "sdxl")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sd")
    for kind in KINDS:
        save_single_file(kind, root / "models" / "checkpoints" / f"tiny_{kind}.safetensors", seed=1)
    save_diffusers_folder("sd1", root / "models" / "diffusers" / "tiny_sd1", seed=1)
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


def txt2img(ckpt_name: str, seed: int = 5, sampler: str = "euler", scheduler: str = "normal", steps: int = 3,
            cfg: float = 7.0, prefix: str = "t") -> dict[str, Any]:
    return {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": cfg, "sampler_name": sampler,
                                                   "scheduler": scheduler, "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt_name}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a (red:1.2) circle", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }


def image_of(runtime: Runtime, outcome: Any) -> torch.Tensor:
    from PIL import Image

    item = outcome.outputs["9"]["images"][0]
    with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
        return torch.from_numpy(__import__("numpy").asarray(png, dtype="float32").copy())


@pytest.mark.parametrize("kind", KINDS)
def test_single_file_loads_exact_weights_offline(base: Path, kind: str, no_network: None) -> None:
    reference = build(kind, seed=1)
    components = ckpt.load_single_file(base / "models" / "checkpoints" / f"tiny_{kind}.safetensors",
                                       torch.float32, base / "temp" / "cfg")
    assert components.family.kind == ("sd2" if kind == "sd2v" else kind)
    assert components.family.prediction == ("v_prediction" if kind == "sd2v" else "epsilon")
    for name, model in (("unet", components.unet), ("vae", components.vae)):
        for key, value in reference[name].state_dict().items():
            assert torch.equal(model.state_dict()[key], value), (name, key)
    for index, encoder in enumerate(components.text_encoders):
        expected = reference["text_encoder" if index == 0 else "text_encoder_2"].state_dict()
        got = encoder.state_dict()
        assert all(torch.equal(got[k], v) for k, v in expected.items() if k in got)


def test_family_of_an_all_in_one_file_comes_from_its_text_encoders(tmp_path: Path) -> None:
    """SD1, SD2 and SDXL all-in-one files are told apart by the text encoders they carry, as ComfyUI does;
    SD2's v-prediction by the spread of one norm's bias."""
    from safetensors.torch import load_file, save_file

    from inkgraph.nodes.diffusion.families import detect_file

    for kind, expected in (("sd1", "sd1"), ("sd2v", "sd2"), ("sdxl", "sdxl")):
        source = tmp_path / f"{kind}.safetensors"
        save_single_file(kind, source)
        bare = tmp_path / f"{kind}-bare.safetensors"
        save_file(load_file(str(source)), str(bare))  # the same tensors, without Inkgraph's configs
        detected, _ = detect_file(bare)
        assert detected.family.name == expected
    probe = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"
    state = load_file(str(tmp_path / "sd2v-bare.safetensors"))
    for spread, variant in ((0.0, ""), (1.0, "v")):
        state[probe] = torch.randn(320) * spread
        save_file(state, str(tmp_path / "probe.safetensors"))
        assert detect_file(tmp_path / "probe.safetensors")[0].variant == variant


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    source = tmp_path / "full.safetensors"
    save_single_file("sd1", source)
    state = load_file(str(source))
    with __import__("safetensors").safe_open(str(source), "pt") as handle:
        metadata = handle.metadata()
    broken = {k: v for k, v in state.items() if "output_blocks" not in k}
    save_file(broken, str(tmp_path / "broken.safetensors"), metadata=metadata)
    with pytest.raises(ckpt.CheckpointError, match="UNet is incomplete"):
        ckpt.load_single_file(tmp_path / "broken.safetensors", torch.float32, tmp_path / "cfg")


@pytest.mark.parametrize("kind", KINDS)
def test_txt2img_runs_and_same_seed_gives_same_image(runtime: Runtime, kind: str, no_network: None) -> None:
    _, first = runtime.run(txt2img(f"tiny_{kind}.safetensors", seed=11))
    assert first.status_str == "success", first.error
    _, again = runtime.run(txt2img(f"tiny_{kind}.safetensors", seed=11))
    _, other = runtime.run(txt2img(f"tiny_{kind}.safetensors", seed=12))
    assert torch.equal(image_of(runtime, first), image_of(runtime, again))
    assert not torch.equal(image_of(runtime, first), image_of(runtime, other))


def test_diffusers_folder_loads(runtime: Runtime) -> None:
    prompt = txt2img("x")
    prompt["4"] = {"class_type": "DiffusersLoader", "inputs": {"model_path": "tiny_sd1"}}
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_every_sampler_runs(runtime: Runtime, sampler: str) -> None:
    _, outcome = runtime.run(txt2img("tiny_sd1.safetensors", sampler=sampler, scheduler="karras", steps=3))
    assert outcome.status_str == "success", outcome.error


@pytest.mark.parametrize("scheduler", ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta",
                                       "normal", "linear_quadratic", "kl_optimal"])
def test_every_scheduler_runs(runtime: Runtime, scheduler: str) -> None:
    _, outcome = runtime.run(txt2img("tiny_sd1.safetensors", scheduler=scheduler, steps=4))
    assert outcome.status_str == "success", outcome.error


def test_schedules_match_comfyui_values() -> None:
    s = DiscreteSchedule()
    assert float(s.sigma_min) == pytest.approx(0.0291672, rel=1e-5)
    assert float(s.sigma_max) == pytest.approx(14.614642, rel=1e-5)
    img2img = [round(float(v), 4) for v in sampling_sigmas(s, "normal", "euler", 10, 0.5)]
    assert len(img2img) == 11 and img2img[:2] == [1.4806, 1.2458] and img2img[-3:] == [0.2322, 0.0292, 0.0]
    karras = schedule_sigmas(s, "karras", 4)
    assert len(karras) == 5 and float(karras[-1]) == 0.0 and float(karras[0]) == pytest.approx(14.6146, abs=1e-4)
    assert len(sampling_sigmas(s, "normal", "dpm_2", 10)) == 11  # one step more, penultimate dropped


def test_euler_matches_a_plain_diffusers_loop() -> None:
    from diffusers import EulerDiscreteScheduler

    torch.manual_seed(0)
    unet = build("sd1")["unet"].eval()
    cond, uncond = torch.randn(1, 77, 32), torch.randn(1, 77, 32)
    schedule = DiscreteSchedule()
    sigmas = sampling_sigmas(schedule, "normal", "euler", 10)
    x = torch.randn(1, 4, 8, 8) * torch.sqrt(1 + sigmas[0] ** 2)
    with torch.no_grad():
        guider = CFGGuider(None, [[cond, {}]], [[uncond, {}]], 7.0)
        ours = euler(denoiser_for(unet, schedule, guider, tuple(x.shape)), x, sigmas, 0)
        scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
        scheduler.set_timesteps(sigmas=sigmas[:-1].numpy())
        latents = x.clone()
        for t in scheduler.timesteps:
            eps = unet(scheduler.scale_model_input(torch.cat([latents] * 2), t), t,
                       encoder_hidden_states=torch.cat([uncond, cond])).sample
            eps_uncond, eps_cond = eps.chunk(2)
            latents = scheduler.step(eps_uncond + 7.0 * (eps_cond - eps_uncond), t, latents).prev_sample
    # diffusers feeds the UNet fractional timesteps (998.9999…), ComfyUI the nearest integer: tiny drift
    assert (ours - latents).abs().max() <= 1e-3 * latents.abs().max()


def test_img2img_half_denoise_stays_near_the_input(runtime: Runtime) -> None:
    prompt = txt2img("tiny_sd1.safetensors", steps=4)
    prompt["10"] = {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                          "color": 0x3366CC}}
    prompt["11"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    prompt["3"]["inputs"]["latent_image"] = ["11", 0]
    distances = []
    for denoise in (0.3, 1.0):
        prompt["3"]["inputs"]["denoise"] = denoise
        prompt["12"] = {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["4", 2]}}
        _, outcome = runtime.run(prompt)
        assert outcome.status_str == "success", outcome.error
        distances.append(image_of(runtime, outcome))
    _, original = runtime.run({**prompt, "9": {"class_type": "PreviewImage", "inputs": {"images": ["12", 0]}}})
    base_image = image_of(runtime, original)
    assert (distances[0] - base_image).abs().mean() < (distances[1] - base_image).abs().mean()


def test_inpainting_keeps_the_unmasked_latent(runtime: Runtime) -> None:
    from inkgraph.nodes.diffusion.ksampler import sample

    class Ctx:
        extra_data: dict[str, Any] = {}

        def progress(self, *args: Any, **kwargs: Any) -> None:
            return None

    from inkgraph.nodes.loaders import load_handles

    class LoaderCtx(Ctx):
        models = runtime.models
        folders = runtime.folders

        def text(self, _: str) -> None:
            return None

    model, clip, _ = load_handles(LoaderCtx(), runtime.folders.model_path("checkpoints", "tiny_sd1.safetensors"))
    from inkgraph.nodes.diffusion.text import encode_prompt

    with clip.use() as encoders, torch.no_grad():
        cond = encode_prompt(encoders, "sd1", None, "a circle")
    latent = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 8, 8)
    mask[:, :, :4] = 1.0
    with torch.no_grad():
        out = sample(Ctx(), model, 3, 3, 5.0, "euler", "normal", cond, cond,  # type: ignore[arg-type]
                     {"samples": latent, "noise_mask": mask})
    assert torch.allclose(out["samples"][..., 4:], latent[..., 4:], atol=1e-5)
    assert not torch.allclose(out["samples"][..., :4], latent[..., :4], atol=1e-2)


def test_noise_is_per_batch_index() -> None:
    latent = torch.zeros(3, 4, 8, 8)
    full = prepare_noise(latent, 42)
    picked = prepare_noise(latent[:2], 42, [2, 0])
    assert torch.equal(picked[0], full[2]) and torch.equal(picked[1], full[0])


def test_prompt_chunks() -> None:
    chunks = tokenize("a photo of a cat")
    assert [t for t, _ in chunks[0][:7]] == [49406, 320, 1125, 539, 320, 2368, 49407] and len(chunks[0]) == 77
    long = tokenize(", ".join(["a small red circle"] * 20))
    assert len(long) == 2 and all(len(c) == 77 for c in long)
    weighted = tokenize("a (red:1.5) circle")
    assert [w for _, w in weighted[0][:5]] == [1.0, 1.0, 1.5, 1.0, 1.0]


def test_tiled_vae_matches_whole_image_decode(runtime: Runtime) -> None:
    from inkgraph.nodes.diffusion.vae_ops import decode, decode_tiled, encode, encode_tiled
    from inkgraph.nodes.loaders import load_handles

    class LoaderCtx:
        models, folders = runtime.models, runtime.folders

        def text(self, _: str) -> None:
            return None

    _, _, vae = load_handles(LoaderCtx(), runtime.folders.model_path("checkpoints", "tiny_sd1.safetensors"))
    latents = torch.randn(1, 4, 16, 20)
    with vae.use() as model, torch.no_grad():
        whole = decode(model, latents)
        tiles = decode_tiled(model, latents, 8, 2)
        assert whole.shape == tiles.shape == (1, 32, 40, 3)  # the tiny VAE scales by 2
        assert (whole - tiles).abs().mean() < 0.05
        pixels = torch.rand(1, 101, 67, 3)  # odd sizes: centre-cropped to a multiple of the VAE's factor
        assert encode(model, pixels).shape == (1, 4, 50, 33)
        assert encode_tiled(model, pixels, 32, 8).shape == (1, 4, 50, 33)


def test_latent_rgb_projection() -> None:
    from inkgraph.nodes.diffusion.previews import latent_rgb

    x0 = torch.zeros(1, 4, 2, 3)
    x0[0, 0] = 1.0  # channel 0 alone: R, G, B = its factors
    pixel = latent_rgb(x0, "sd").getpixel((0, 0))
    assert pixel == tuple(int(((v + 1) / 2) * 255) for v in (0.3512, 0.2297, 0.3227))
    assert latent_rgb(x0, "sdxl").size == (3, 2)


@pytest.mark.parametrize("method", ["latent2rgb", "taesd"])
def test_previews_while_sampling(base: Path, method: str) -> None:
    from diffusers import AutoencoderTiny
    from safetensors.torch import save_file

    folder = base / "models" / "vae_approx"
    folder.mkdir(parents=True, exist_ok=True)
    decoder = {k.removeprefix("decoder.layers."): v for k, v in AutoencoderTiny().state_dict().items()
               if k.startswith("decoder.layers.")}
    save_file({f"{int(k.split('.')[0]) + 1}.{k.split('.', 1)[1]}": v.contiguous() for k, v in decoder.items()},
              str(folder / "taesd_decoder.safetensors"))
    runtime = Runtime.create(Settings(base_dir=base, cache="none"))
    previews = []
    runtime.bus.subscribe(lambda event, target: previews.append(event) if event.type == "preview_image" else None)
    _, outcome = runtime.run(txt2img("tiny_sd1.safetensors", steps=3), extra_data={"preview_method": method})
    assert outcome.status_str == "success", outcome.error
    assert len(previews) == 3
    size = previews[0].image.size
    assert size == ((8, 8) if method == "latent2rgb" else (64, 64))  # TAESD decodes to pixels (×8)


def test_torch_compile_model_node_compiles_the_unet_once(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node routes sampling through torch.compile; a recording stand-in keeps the test free of a C compiler."""
    calls: list[tuple[str, str]] = []

    def fake_compile(module: torch.nn.Module, backend: str) -> torch.nn.Module:
        calls.append((type(module).__name__, backend))
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    plain = image_of(runtime, runtime.run(txt2img("tiny_sd1.safetensors"))[1])
    prompt = txt2img("tiny_sd1.safetensors", prefix="c")
    prompt["20"] = {"class_type": "TorchCompileModel", "inputs": {"model": ["4", 0], "backend": "inductor"}}
    prompt["3"]["inputs"]["model"] = ["20", 0]
    first = image_of(runtime, runtime.run(prompt)[1])
    prompt["3"]["inputs"]["seed"] = 6
    runtime.run(prompt)
    assert calls == [("UNet2DConditionModel", "inductor")]  # compiled once, reused on the next run
    assert torch.equal(plain, first)

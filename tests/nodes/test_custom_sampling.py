"""Custom sampling nodes: the SamplerCustomAdvanced route equals KSampler on the tiny SD model, sigma nodes,
noise nodes, flow sampling end to end on a toy network, and ComfyUI's /object_info shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import custom_sampling as cs
from inkgraph.nodes import sigmas as sn
from inkgraph.nodes.model_advanced import ModelSamplingSD3
from inkgraph.nodes.sampling import KSampler, KSamplerAdvanced
from tests.fixtures.tiny_sd import save_single_file
from tests.fixtures.toy_diffusion import Ctx, ToyModel, ToyNetwork, cond


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root: Path = tmp_path_factory.mktemp("custom")
    save_single_file("sd1", root / "models" / "checkpoints" / "tiny.safetensors", seed=1)
    return Runtime.create(Settings(base_dir=root, cache="none"))


class LoaderCtx(Ctx):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.models, self.folders = runtime.models, runtime.folders


@pytest.fixture(scope="module")
def sd(runtime: Runtime) -> dict[str, Any]:
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.loaders import CheckpointLoaderSimple

    ctx = LoaderCtx(runtime)
    model, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
    return {"model": model, "positive": CLIPTextEncode(ctx, text="a red circle", clip=clip),
            "negative": CLIPTextEncode(ctx, text="blurry", clip=clip), "ctx": ctx}


def empty_latent() -> dict[str, Any]:
    return {"samples": torch.zeros(1, 4, 8, 8)}


@pytest.mark.parametrize("sampler_name", ["euler", "dpmpp_2m_sde", "euler_ancestral_cfg_pp"])
def test_sampler_custom_advanced_equals_ksampler(sd: dict[str, Any], sampler_name: str) -> None:
    ctx, model = sd["ctx"], sd["model"]
    with torch.no_grad():
        plain = KSampler(ctx, model, seed=3, steps=4, cfg=6.0, sampler_name=sampler_name, scheduler="normal",
                         positive=sd["positive"], negative=sd["negative"], latent_image=empty_latent(), denoise=1.0)
        out, denoised = cs.SamplerCustomAdvanced(
            ctx, noise=cs.RandomNoise(noise_seed=3), guider=cs.CFGGuider(model, sd["positive"], sd["negative"], 6.0),
            sampler=cs.KSamplerSelect(sampler_name=sampler_name),
            sigmas=sn.BasicScheduler(model, scheduler="normal", steps=4, denoise=1.0), latent_image=empty_latent())
        custom, _ = cs.SamplerCustom(ctx, model, add_noise=True, noise_seed=3, cfg=6.0, positive=sd["positive"],
                                     negative=sd["negative"], sampler=cs.KSamplerSelect(sampler_name=sampler_name),
                                     sigmas=sn.BasicScheduler(model, scheduler="normal", steps=4, denoise=1.0),
                                     latent_image=empty_latent())
    assert torch.equal(out["samples"], plain["samples"]) and torch.equal(custom["samples"], plain["samples"])
    assert denoised["samples"].shape == out["samples"].shape


def test_two_stage_split_sigmas_and_disable_noise(sd: dict[str, Any]) -> None:
    ctx, model = sd["ctx"], sd["model"]
    guider = cs.CFGGuider(model, sd["positive"], sd["negative"], 5.0)
    sampler = cs.KSamplerSelect(sampler_name="euler")
    sigmas = sn.BasicScheduler(model, scheduler="karras", steps=6, denoise=1.0)
    high, low = sn.SplitSigmas(sigmas, step=3)
    with torch.no_grad():
        full, _ = cs.SamplerCustomAdvanced(ctx, cs.RandomNoise(noise_seed=9), guider, sampler, sigmas, empty_latent())
        first, first_denoised = cs.SamplerCustomAdvanced(ctx, cs.RandomNoise(noise_seed=9), guider, sampler, high,
                                                         empty_latent())
        second, _ = cs.SamplerCustomAdvanced(ctx, cs.DisableNoise(), guider, sampler, low, first)
        # KSamplerAdvanced's step range on the same schedule is the same split
        advanced = KSamplerAdvanced(ctx, model, add_noise="disable", noise_seed=9, steps=6, cfg=5.0,
                                    sampler_name="euler", scheduler="karras", positive=sd["positive"],
                                    negative=sd["negative"], latent_image=first, start_at_step=3, end_at_step=10000,
                                    return_with_leftover_noise="disable")
    assert torch.allclose(second["samples"], full["samples"], atol=1e-4)
    assert torch.equal(advanced["samples"], second["samples"])
    assert not torch.allclose(first_denoised["samples"], first["samples"], atol=1e-3)  # stopped at σ > 0


def test_progress_and_previews_through_the_executor(runtime: Runtime) -> None:
    prompt = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a circle", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "10": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "dpmpp_2m"}},
        "11": {"class_type": "BasicScheduler", "inputs": {"model": ["4", 0], "scheduler": "simple", "steps": 3,
                                                          "denoise": 1.0}},
        "12": {"class_type": "CFGGuider", "inputs": {"model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                                                     "cfg": 4.0}},
        "13": {"class_type": "RandomNoise", "inputs": {"noise_seed": 1}},
        "3": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["13", 0], "guider": ["12", 0],
                                                               "sampler": ["10", 0], "sigmas": ["11", 0],
                                                               "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 1], "vae": ["4", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }
    events: list[Any] = []
    runtime.bus.subscribe(lambda event, target: events.append(event))
    _, outcome = runtime.run(prompt, extra_data={"preview_method": "latent2rgb"})
    assert outcome.status_str == "success", outcome.error
    progress = [(e.value, e.max) for e in events if e.type == "progress" and e.node == "3"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert len([e for e in events if e.type == "preview_image"]) == 3


def test_sigma_nodes() -> None:
    sigmas = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0])
    high, low = sn.SplitSigmas(sigmas, step=2)
    assert high.tolist() == [4.0, 3.0, 2.0] and low.tolist() == [2.0, 1.0, 0.0]
    high, low = sn.SplitSigmasDenoise(sigmas, denoise=0.5)
    assert high.tolist() == [4.0, 3.0, 2.0] and low.tolist() == [2.0, 1.0, 0.0]  # sigmas[:-2], sigmas[-3:]
    assert len(sn.SplitSigmasDenoise(sigmas, denoise=0.0)[0]) == 0  # ComfyUI's sigmas[:-0]
    flipped = sn.FlipSigmas(sigmas)
    assert flipped.tolist() == pytest.approx([0.0001, 1.0, 2.0, 3.0, 4.0]) and sigmas[0] == 4.0
    first = sn.SetFirstSigma(sigmas, sigma=9.5)
    assert first.tolist() == [9.5, 3.0, 2.0, 1.0, 0.0] and sigmas[0] == 4.0
    assert sn.ManualSigmas("1, 0.5,0.25 0").tolist() == [1.0, 0.5, 0.25, 0.0]
    extended = sn.ExtendIntermediateSigmas(torch.tensor([4.0, 2.0, 0.0]), steps=2, start_at_sigma=-1.0,
                                           end_at_sigma=3.0, spacing="linear")
    assert extended.tolist() == [4.0, 3.0, 2.0, 0.0]
    karras = sn.KarrasScheduler(steps=3, sigma_max=10.0, sigma_min=0.1, rho=7.0)
    assert karras.tolist() == pytest.approx([10.0, ((10 ** (1 / 7) + 0.1 ** (1 / 7)) / 2) ** 7, 0.1, 0.0], rel=1e-5)
    assert sn.ExponentialScheduler(steps=3, sigma_max=10.0, sigma_min=0.1).tolist() == pytest.approx(
        [10.0, 1.0, 0.1, 0.0], rel=1e-5)
    assert torch.allclose(sn.PolyexponentialScheduler(steps=3, sigma_max=10.0, sigma_min=0.1, rho=1.0),
                          sn.ExponentialScheduler(steps=3, sigma_max=10.0, sigma_min=0.1))
    assert len(sn.LaplaceScheduler(steps=5, sigma_max=10.0, sigma_min=0.1, mu=0.0, beta=0.5)) == 5  # no final 0
    vp = sn.VPScheduler(steps=2, beta_d=19.9, beta_min=0.1, eps_s=0.001)
    assert float(vp[0]) == pytest.approx((torch.tensor(19.9 / 2 + 0.1).exp() - 1).sqrt().item(), rel=1e-5)
    model = ToyModel(ToyNetwork())
    turbo = sn.SDTurboScheduler(model, steps=2, denoise=1.0)
    eps = __import__("inkgraph.nodes.diffusion.model_sampling", fromlist=["discrete"]).discrete("epsilon")
    assert turbo.tolist() == pytest.approx([float(eps.sigmas[999]), float(eps.sigmas[899]), 0.0])
    assert sn.SamplingPercentToSigma(ModelSamplingSD3(model, shift=3.0), sampling_percent=0.5,
                                     return_actual_sigma=False) == pytest.approx(0.75)


def test_noise_nodes() -> None:
    latent = {"samples": torch.ones(2, 4, 3, 3), "batch_index": [1, 0]}
    assert torch.equal(cs.DisableNoise().generate_noise(latent), torch.zeros(2, 4, 3, 3))
    assert cs.DisableNoise().seed == 0
    noise = cs.RandomNoise(noise_seed=4).generate_noise(latent)
    generator = torch.Generator().manual_seed(4)
    draws = [torch.randn(1, 4, 3, 3, generator=generator) for _ in range(2)]  # one CPU draw per batch index
    assert torch.equal(noise[0], draws[1][0]) and torch.equal(noise[1], draws[0][0])


def test_flow_sampling_end_to_end_equals_a_plain_loop() -> None:
    """SamplerCustomAdvanced with ModelSamplingSD3 and a BasicGuider on a toy velocity network, against
    Euler written out with the network itself."""
    network = ToyNetwork(weight=0.3)
    model = ModelSamplingSD3(ToyModel(network), shift=3.0)
    sigmas = sn.BasicScheduler(model, scheduler="simple", steps=5, denoise=1.0)
    latent = {"samples": torch.zeros(1, 2, 4, 4)}
    ctx = Ctx()
    with torch.no_grad():
        out, denoised = cs.SamplerCustomAdvanced(ctx, cs.RandomNoise(noise_seed=2), cs.BasicGuider(model, cond(0.7)),
                                                 cs.KSamplerSelect(sampler_name="euler"), sigmas, latent)
        x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(2))  # σ₀ = 1: pure noise
        for i in range(len(sigmas) - 1):
            velocity = 0.3 * x + 0.7
            x = x + velocity * (sigmas[i + 1] - sigmas[i])
    assert torch.allclose(out["samples"], x, atol=1e-5)
    assert [float(t[0]) for t in network.timesteps] == pytest.approx([1000 * float(s) for s in sigmas[:-1]], rel=1e-6)
    assert ctx.steps == [(i, 5) for i in range(1, 6)]
    assert torch.allclose(denoised["samples"], out["samples"], atol=1e-5)  # the last step lands on σ = 0


def test_guiders_skip_and_run_passes() -> None:
    network = ToyNetwork()
    model = ToyModel(network)
    sigmas = torch.tensor([2.0, 1.0, 0.0])
    latent = {"samples": torch.zeros(1, 1, 2, 2)}
    runs = []
    for guider in (cs.CFGGuider(model, cond(1.0), cond(0.0), 1.0), cs.CFGGuider(model, cond(1.0), cond(0.0), 3.0),
                   cs.BasicGuider(model, cond(1.0)),
                   cs.DualCFGGuider(model, cond(1.0), cond(0.5), cond(0.0), 1.0, 1.0, style="regular")):
        network.timesteps.clear()
        out, _ = cs.SamplerCustomAdvanced(Ctx(), cs.DisableNoise(), guider, cs.KSamplerSelect(sampler_name="euler"),
                                          sigmas, latent)
        runs.append((len(network.timesteps), [len(t) for t in network.timesteps], out["samples"]))
    assert runs[0][:2] == (2, [1, 1])  # cfg 1: the negative pass is skipped
    assert runs[1][:2] == (2, [2, 2])  # cfg 3: positive and negative in one batch
    assert runs[2][:2] == (2, [1, 1]) and torch.equal(runs[2][2], runs[0][2])
    assert runs[3][:2] == (2, [1, 1]) and torch.equal(runs[3][2], runs[0][2])  # both cfgs 1: cond1 alone


def test_clear_errors_name_node_and_input() -> None:
    with pytest.raises(ValueError, match="SamplerCustomAdvanced: input 'guider'"):
        cs.SamplerCustomAdvanced(Ctx(), cs.DisableNoise(), object(), cs.KSamplerSelect(sampler_name="euler"),
                                 torch.tensor([1.0, 0.0]), {"samples": torch.zeros(1, 4, 2, 2)})
    with pytest.raises(ValueError, match="SamplerCustom: input 'sampler'"):
        cs.SamplerCustom(Ctx(), ToyModel(ToyNetwork()), add_noise=True, noise_seed=0, cfg=1.0, positive=cond(1),
                         negative=cond(0), sampler="euler", sigmas=torch.tensor([1.0, 0.0]),
                         latent_image={"samples": torch.zeros(1, 4, 2, 2)})

"""Every sampler on exact denoisers of Gaussian data: hand-computed steps from the published update rules,
exact ODE solutions, the sampled distribution, and ComfyUI's noise conventions. VE (ε-model) and
rectified-flow (shifted SD3 schedule) cases."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.ksamplers.common import StepNoise, ancestral_step, brownian
from inkgraph.nodes.diffusion.samplers import SAMPLERS, sampler_object
from inkgraph.nodes.diffusion.schedules import karras_schedule, schedule_sigmas
from tests.fixtures.toy_diffusion import MU, STD, GaussianDenoiser

SEED = 5
FLOW = ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=3.0)
VE = ms.discrete("epsilon")
# Deterministic samplers and the error they reach on 30 steps (second order or better: tight).
ODE = {"euler": 0.25, "euler_cfg_pp": 0.25, "ddim": 0.25, "heunpp2": 0.25, "gradient_estimation": 0.2,
       "gradient_estimation_cfg_pp": 0.2, "dpm_adaptive": 0.1, "heun": 0.05, "exp_heun_2_x0": 0.1, "dpm_2": 0.05,
       "lms": 0.05, "dpmpp_2m": 0.05, "dpmpp_2m_cfg_pp": 0.05, "ipndm": 0.05, "ipndm_v": 0.05, "deis": 0.05,
       "res_multistep": 0.05, "res_multistep_cfg_pp": 0.05, "uni_pc": 0.05, "uni_pc_bh2": 0.05, "dpm_fast": 0.05}
# As in ComfyUI, these never look at the flow parametrisation (VP/VE formulas only).
FLOW_UNAWARE = {"ddpm", "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "dpm_fast", "dpm_adaptive"}


def start(flow: bool, steps: int = 30) -> tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(model sampling, sigmas, x at the first sigma, the exact ODE solution at σ = 0)."""
    z = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    if flow:
        return FLOW, schedule_sigmas(FLOW, "simple", steps), z.clone(), MU + STD * z
    sigmas = karras_schedule(steps, 0.0292, 14.61)
    x = z * math.sqrt(1 + float(sigmas[0]) ** 2)
    return VE, sigmas, x, MU + (x - MU) * STD / math.sqrt(STD ** 2 + float(sigmas[0]) ** 2)


def run(name: str, flow: bool, steps: int = 30, **options: Any) -> tuple[torch.Tensor, torch.Tensor, GaussianDenoiser]:
    sampling, sigmas, x, exact = start(flow, steps)
    model = GaussianDenoiser(sampling)
    sampler = sampler_object(name, **options)
    out = sampler(model, x, sigmas, SEED)
    return sampling.inverse_noise_scaling(sampler.last_sigma(sigmas), out), exact, model


def test_every_comfyui_sampler_is_registered() -> None:
    assert len(SAMPLERS) == 44 and "dpmpp_2m_sde_gpu" in SAMPLERS and "sa_solver_pece" in SAMPLERS


@pytest.mark.parametrize("flow", [False, True], ids=["ve", "flow"])
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_runs_deterministically_to_the_data(name: str, flow: bool) -> None:
    out, exact, _ = run(name, flow)
    again, _, _ = run(name, flow)
    assert torch.isfinite(out).all() and torch.equal(out, again)
    if name in ODE and not (flow and name in FLOW_UNAWARE):
        assert (out - exact).abs().max() < ODE[name] * (1.5 if flow else 1.0)
    elif name != "lcm" and not (flow and name in FLOW_UNAWARE):  # stochastic: the data distribution
        assert abs(float(out.mean()) - MU) < 0.05 and abs(float(out.std()) - STD) < 0.1


def test_euler_on_flow_is_the_plain_velocity_loop() -> None:
    sigmas = schedule_sigmas(FLOW, "simple", 12)
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    model = GaussianDenoiser(FLOW)
    reference = x.clone()
    for i in range(len(sigmas) - 1):
        velocity = (reference - model(reference, sigmas[i])) / sigmas[i]  # ε − x0 for a flow model
        reference = reference + velocity * (sigmas[i + 1] - sigmas[i])
    assert torch.equal(sampler_object("euler")(GaussianDenoiser(FLOW), x, sigmas, SEED), reference)
    # the ancestral flow step with η = 0 is the same Euler step
    ancestral = sampler_object("euler_ancestral", eta=0.0)(GaussianDenoiser(FLOW), x, sigmas, SEED)
    assert torch.allclose(ancestral, reference, atol=1e-5)


def first_step(name: str, sigmas: torch.Tensor, x: torch.Tensor, flow: bool = False, **options: Any) -> torch.Tensor:
    return sampler_object(name, **options)(GaussianDenoiser(FLOW if flow else VE), x, sigmas, SEED)


def test_euler_ancestral_first_step_by_hand() -> None:
    sigmas, x = torch.tensor([3.0, 1.5]), torch.full((1, 1, 2, 2), 2.0)
    denoised = GaussianDenoiser()(x, sigmas[0])
    down, up = ancestral_step(sigmas[0], sigmas[1])  # σ_up = √(σ₁²(σ₀²−σ₁²)/σ₀²), σ_down = √(σ₁² − σ_up²)
    assert float(up) == pytest.approx(math.sqrt(1.5 ** 2 * (9 - 2.25) / 9))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(SEED + 1))  # ComfyUI: seed + 1 on the CPU
    expected = x + (x - denoised) / 3.0 * (down - 3.0) + noise * up
    assert torch.allclose(first_step("euler_ancestral", sigmas, x), expected, atol=1e-6)


def test_multistep_steps_by_hand() -> None:
    sigmas, x = torch.tensor([4.0, 3.0, 2.0, 1.0]), torch.full((1, 1, 2, 2), 2.0)
    d = GaussianDenoiser()
    # gradient estimation: Euler, then Euler plus (γ − 1)·(d₁ − d₀)·Δσ
    x1 = x + (x - d(x, sigmas[0])) / 4.0 * -1.0
    d0, d1 = (x - d(x, sigmas[0])) / 4.0, (x1 - d(x1, sigmas[1])) / 3.0
    x2 = x1 + d1 * -1.0 + (2.0 - 1) * (d1 - d0) * -1.0
    assert torch.allclose(first_step("gradient_estimation", sigmas[:3], x), x2, atol=1e-6)
    # iPNDM-v on even steps is iPNDM to third order (weights 3/2, −1/2; 23/12, −16/12, 5/12); its fourth-order
    # weights differ by design (57/24 against 55/24 with even steps, in ComfyUI's formula too)
    even = torch.tensor([7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    assert torch.allclose(first_step("ipndm_v", even, x, max_order=3), first_step("ipndm", even, x, max_order=3),
                          atol=1e-6)
    assert not torch.allclose(first_step("ipndm_v", even, x), first_step("ipndm", even, x), atol=1e-5)
    # Heun++ away from the end: Euler to σ₁ and σ₂, derivatives weighted 1 − w₂ − w₃, w₂ = σ₁/3σ₀, w₃ = σ₂/3σ₀
    d_0 = (x - d(x, sigmas[0])) / 4.0
    x_2 = x + d_0 * -1.0
    d_2 = (x_2 - d(x_2, sigmas[1])) / 3.0
    x_3 = x_2 + d_2 * -1.0
    d_3 = (x_3 - d(x_3, sigmas[2])) / 2.0
    w2, w3 = 3.0 / 12.0, 2.0 / 12.0
    heunpp = x + ((1 - w2 - w3) * d_0 + w2 * d_2 + w3 * d_3) * -1.0
    steps: dict[int, torch.Tensor] = {}
    sampler_object("heunpp2")(GaussianDenoiser(), x, sigmas, SEED, lambda i, x_now, _: steps.setdefault(i, x_now))
    assert torch.allclose(steps[0], heunpp, atol=1e-6)
    # lcm: the denoised estimate re-noised to the next σ with the step noise
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(SEED + 1))
    assert torch.allclose(first_step("lcm", sigmas[:2], x), d(x, sigmas[0]) + noise * 3.0, atol=1e-6)


def test_exponential_integrator_steps_by_hand() -> None:
    sigmas, x = torch.tensor([2.0, 1.0]), torch.full((1, 1, 2, 2), 1.5)
    d = GaussianDenoiser()
    lam_s, lam_t = -math.log(2.0), 0.0
    h = lam_t - lam_s
    # DPM-Solver++ first order (DDIM in data prediction): x_t = σ_t/σ_s·x − α_t·(e^{−h} − 1)·D
    ddim = 1.0 / 2.0 * x - (math.exp(-h) - 1) * d(x, sigmas[0])
    tau_zero = {"tau_func": lambda sigma: 0.0, "predictor_order": 1, "corrector_order": 0}
    assert torch.allclose(first_step("sa_solver", sigmas, x, **tau_zero), ddim, atol=1e-6)
    # ER-SDE as an ODE (noise scaler x): stage 1 with r = λ_t/λ_s is the same first-order step
    ode = {"s_noise": 0.0, "noise_scaler": lambda v: v}
    assert torch.allclose(first_step("er_sde", sigmas, x, **ode), ddim, atol=1e-5)
    # SEEDS-2 without noise at r = ½: a midpoint evaluation at λ_s + h/2, then the step with D₂
    mid = math.exp(-(lam_s + h / 2))
    x_mid = mid / 2.0 * x - (math.exp(-h / 2) - 1) * d(x, sigmas[0])
    seeds = 1.0 / 2.0 * x - (math.exp(-h) - 1) * d(x_mid, torch.tensor(mid))
    assert torch.allclose(first_step("seeds_2", sigmas, x, eta=0.0, s_noise=0.0), seeds, atol=1e-5)


@pytest.mark.parametrize("cpu,gpu", [("dpmpp_sde", "dpmpp_sde_gpu"), ("dpmpp_2m_sde", "dpmpp_2m_sde_gpu"),
                                     ("dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu"),
                                     ("dpmpp_3m_sde", "dpmpp_3m_sde_gpu")])
def test_gpu_noise_variants_equal_the_cpu_ones_on_the_cpu(cpu: str, gpu: str) -> None:
    assert torch.equal(run(cpu, False, 8)[0], run(gpu, False, 8)[0])


@pytest.mark.parametrize("plain", ["euler", "euler_ancestral", "dpmpp_2m", "res_multistep", "gradient_estimation",
                                   "dpmpp_2s_ancestral", "res_multistep_ancestral"])
@pytest.mark.parametrize("flow", [False, True], ids=["ve", "flow"])
def test_cfg_pp_equals_its_base_sampler_when_uncond_equals_cond(plain: str, flow: bool) -> None:
    if flow and plain == "euler_ancestral":
        pytest.skip("on flow models ComfyUI's euler_ancestral re-noises the flow way, its CFG++ form the VP way")
    sampling, sigmas, x, _ = start(flow, 10)
    base = sampler_object(plain)(GaussianDenoiser(sampling), x, sigmas, SEED)
    cfg_pp = sampler_object(f"{plain}_cfg_pp")(GaussianDenoiser(sampling), x, sigmas, SEED)
    assert torch.allclose(cfg_pp, base, atol=1e-4, rtol=1e-4)


def test_cfg_pp_steps_along_the_unconditional_prediction() -> None:
    sigmas, x = torch.tensor([2.0, 1.0]), torch.full((1, 1, 2, 2), 1.5)
    model = GaussianDenoiser(uncond_mu=-0.4)
    out = sampler_object("euler_cfg_pp")(model, x, sigmas, SEED)
    guided, uncond = GaussianDenoiser()(x, sigmas[0]), GaussianDenoiser(mu=-0.4)(x, sigmas[0])
    assert torch.allclose(out, guided + (x - uncond) / 2.0 * 1.0, atol=1e-6)  # x₁ = D + σ₁·(x − U)/σ₀


def test_noise_sources_follow_comfyui() -> None:
    x = torch.zeros(1, 2, 3, 3)
    assert torch.equal(StepNoise(x, 7)(), torch.randn(x.shape, generator=torch.Generator().manual_seed(8)))
    import torchsde

    sigmas = torch.tensor([5.0, 2.0, 0.5, 0.0])
    tree = torchsde.BrownianTree(torch.tensor(0.5), torch.zeros_like(x), torch.tensor(5.0), entropy=7)
    expected = -tree(torch.tensor(2.0), torch.tensor(5.0)) / math.sqrt(3.0)
    assert torch.allclose(brownian(x, sigmas, 7)(sigmas[0], sigmas[1]), expected)

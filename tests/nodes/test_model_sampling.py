"""Model sampling and sigma schedules against numbers computed by hand from the published formulas."""

from __future__ import annotations

import math

import pytest
import torch

from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.model_api import model_sampling_of
from inkgraph.nodes.diffusion.schedules import basic_scheduler, sampling_sigmas, schedule_sigmas
from inkgraph.nodes.model_advanced import (
    ModelSamplingAuraFlow,
    ModelSamplingContinuousEDM,
    ModelSamplingContinuousV,
    ModelSamplingDiscrete,
    ModelSamplingFlux,
    ModelSamplingSD3,
)
from tests.fixtures.toy_diffusion import ToyModel, ToyNetwork


def flux_sigma(shift: float, t: float) -> float:
    """Flux: σ(t) = e^μ / (e^μ + (1/t − 1)), μ the shift."""
    return math.exp(shift) / (math.exp(shift) + (1 / t - 1))


def sd3_sigma(shift: float, t: float) -> float:
    """SD3: σ(t) = shift·t / (1 + (shift − 1)·t)."""
    return shift * t / (1 + (shift - 1) * t)


def test_flux_shift_at_two_resolutions() -> None:
    # shift = w·h/256 · m + b with m = (max − base)/(4096 − 256), b = base − 256·m (ModelSamplingFlux)
    m = (1.15 - 0.5) / (4096 - 256)
    b = 0.5 - 256 * m
    for size, expected_shift in ((1024, 1.15), (256, 0.5), (512, 1024 * m + b)):  # 4096, 256, 1024 2×2 patches
        model = ModelSamplingFlux(ToyModel(ToyNetwork()), max_shift=1.15, base_shift=0.5, width=size, height=size)
        sampling = model_sampling_of(model)
        assert isinstance(sampling, ms.CONST)
        assert sampling.shift == pytest.approx(expected_shift, abs=1e-12)
        assert size != 512 or sampling.shift == pytest.approx(0.63)
        # "simple" with 4 steps reads the 10,000-entry table at t = 1, 0.75, 0.5, 0.25
        sigmas = schedule_sigmas(sampling, "simple", 4)
        expected = [flux_sigma(expected_shift, t) for t in (1.0, 0.75, 0.5, 0.25)] + [0.0]
        assert sigmas.tolist() == pytest.approx(expected, abs=1e-6)
        assert float(sampling.timestep(torch.tensor(0.6))) == pytest.approx(0.6)  # Flux is fed σ itself
        assert sampling.percent_to_sigma(0.25) == pytest.approx(flux_sigma(expected_shift, 0.75))
    assert schedule_sigmas(model_sampling_of(ModelSamplingFlux(ToyModel(ToyNetwork()), 1.15, 0.5, 1024, 1024)),
                           "simple", 4)[1] == pytest.approx(3.1582 / (3.1582 + 1 / 3), abs=1e-4)  # 0.9045


def test_sd3_shift_3() -> None:
    sampling = model_sampling_of(ModelSamplingSD3(ToyModel(ToyNetwork()), shift=3.0))
    # σ = 3t/(1+2t) at t = 1, 0.75, 0.5, 0.25: 1, 0.9, 0.75, 0.5
    assert schedule_sigmas(sampling, "simple", 4).tolist() == pytest.approx([1.0, 0.9, 0.75, 0.5, 0.0], abs=1e-6)
    assert float(sampling.timestep(torch.tensor(0.75))) == pytest.approx(750.0)  # SD3 is fed 1000·σ
    assert float(sampling.sigma(torch.tensor(500.0))) == pytest.approx(0.75)
    assert sampling.percent_to_sigma(0.0) == 1.0 and sampling.percent_to_sigma(1.0) == 0.0
    assert sampling.percent_to_sigma(0.5) == pytest.approx(0.75)
    assert float(sampling.sigma_min) == pytest.approx(sd3_sigma(3.0, 0.001))
    # normal: timesteps evenly spaced between timestep(σ_max) = 1000 and timestep(σ_min) = 1000·σ_min
    normal = schedule_sigmas(sampling, "normal", 3)
    t_min = 1000 * sd3_sigma(3.0, 0.001)
    expected = [sd3_sigma(3.0, t / 1000) for t in (1000, (1000 + t_min) / 2, t_min)] + [0.0]
    assert normal.tolist() == pytest.approx(expected, abs=1e-5)


def test_auraflow_shift_1_73() -> None:
    sampling = model_sampling_of(ModelSamplingAuraFlow(ToyModel(ToyNetwork()), shift=1.73))
    assert float(sampling.timestep(torch.tensor(0.5))) == pytest.approx(0.5)  # multiplier 1: fed σ
    expected = [sd3_sigma(1.73, t) for t in (1.0, 0.75, 0.5, 0.25)] + [0.0]
    assert schedule_sigmas(sampling, "simple", 4).tolist() == pytest.approx(expected, abs=1e-6)
    assert expected[2] == pytest.approx(0.865 / 1.365)
    karras = schedule_sigmas(sampling, "karras", 3)
    lo, hi = sd3_sigma(1.73, 0.001), 1.0
    rho = 7.0
    assert karras.tolist() == pytest.approx(
        [(hi ** (1 / rho) + r * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho for r in (0, 0.5, 1)] + [0.0], abs=1e-6)


def test_flow_prediction_and_noise() -> None:
    sampling = ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=3.0)
    x0, noise, sigma = torch.full((1, 1, 2, 2), 2.0), torch.full((1, 1, 2, 2), -1.0), torch.tensor(0.25)
    x = sampling.noise_scaling(sigma, noise, x0)  # (1 − σ)·x0 + σ·ε
    assert torch.allclose(x, torch.full_like(x, 0.75 * 2.0 - 0.25))
    velocity = noise - x0  # the flow network's ideal output
    assert torch.allclose(sampling.calculate_denoised(sigma, velocity, x), x0)
    assert torch.equal(sampling.calculate_input(sigma, x), x)
    assert torch.allclose(sampling.inverse_noise_scaling(sigma, x), x / 0.75)


def test_discrete_schedule_and_prediction_types() -> None:
    eps = ms.discrete("epsilon")
    assert float(eps.sigma_min) == pytest.approx(0.0291672, rel=1e-5)
    assert float(eps.sigma_max) == pytest.approx(14.614642, rel=1e-5)
    assert int(eps.timestep(eps.sigma(torch.tensor(500.0)))) == 500
    sigma, x, out = torch.tensor(2.0), torch.full((1, 1, 1, 1), 3.0), torch.full((1, 1, 1, 1), 0.5)
    assert float(eps.calculate_input(sigma, x)) == pytest.approx(3.0 / math.sqrt(5.0))
    assert float(eps.calculate_denoised(sigma, out, x)) == pytest.approx(3.0 - 0.5 * 2.0)
    v = ms.discrete("v_prediction")
    assert float(v.calculate_denoised(sigma, out, x)) == pytest.approx(3.0 / 5.0 - 0.5 * 2.0 / math.sqrt(5.0))
    assert eps.percent_to_sigma(0.0) > 1e8 and eps.percent_to_sigma(1.0) == 0.0
    assert eps.percent_to_sigma(0.5) == pytest.approx(float(eps.sigma(torch.tensor(499.5))))
    zsnr = model_sampling_of(ModelSamplingDiscrete(ToyModel(ToyNetwork()), sampling="v_prediction", zsnr=True))
    assert float(zsnr.sigma_max) == pytest.approx(math.sqrt((1 - 4.8973451890853435e-08) / 4.8973451890853435e-08),
                                                  rel=1e-4)
    assert isinstance(zsnr, ms.V_PREDICTION)
    lcm = model_sampling_of(ModelSamplingDiscrete(ToyModel(ToyNetwork()), sampling="lcm", zsnr=False))
    assert len(lcm.sigmas) == 50 and int(lcm.timestep(lcm.sigmas[-1:])) == 999


def test_continuous_schedules() -> None:
    edm = model_sampling_of(ModelSamplingContinuousEDM(ToyModel(ToyNetwork()), sampling="edm", sigma_max=120.0,
                                                       sigma_min=0.002))
    assert isinstance(edm, ms.EDM) and edm.sigma_data == 0.5
    assert float(edm.sigma_max) == pytest.approx(120.0, rel=1e-5)
    assert float(edm.timestep(torch.tensor(math.e))) == pytest.approx(0.25)
    assert edm.percent_to_sigma(0.5) == pytest.approx(math.sqrt(120.0 * 0.002))
    v = model_sampling_of(ModelSamplingContinuousV(ToyModel(ToyNetwork()), sampling="v_prediction", sigma_max=500.0,
                                                   sigma_min=0.03))
    assert float(v.timestep(torch.tensor(1.0))) == pytest.approx(0.5)  # atan(1)·2/π
    with pytest.raises(ValueError, match="edm_playground_v2.5"):
        ModelSamplingContinuousEDM(ToyModel(ToyNetwork()), sampling="edm_playground_v2.5", sigma_max=1.0,
                                   sigma_min=0.1)


def test_denoise_and_discarded_sigma() -> None:
    eps = ms.discrete("epsilon")
    full = schedule_sigmas(eps, "normal", 20)
    assert torch.equal(sampling_sigmas(eps, "normal", "euler", 10, 0.5), full[-11:])
    assert len(sampling_sigmas(eps, "normal", "uni_pc", 10)) == 11
    assert torch.equal(basic_scheduler(eps, "normal", 10, 0.5), full[-11:])
    assert len(basic_scheduler(eps, "normal", 10, 0.0)) == 0

"""Prediction types: what a network outputs and how a noisy latent relates to the clean one at noise
level σ (ComfyUI's EPS, V_PREDICTION, EDM, X0, IMG_TO_IMG, CONST, COSMOS_RFLOW and LCM, by name: custom
nodes test ``isinstance(ms, CONST)``). ``model_sampling`` combines one of these with a schedule and
re-exports them.
"""

from __future__ import annotations

import torch


def reshape_sigma(sigma: torch.Tensor, ndim: int) -> torch.Tensor:
    """σ broadcast against a [B, ...] tensor: a scalar when there is one σ, [B, 1, 1, ...] otherwise."""
    if sigma.nelement() == 1:
        return sigma.view(())
    return sigma.view(sigma.shape[:1] + (1,) * (ndim - 1))


# -- prediction types -----------------------------------------------------------------------------------

class EPS:
    """ε-prediction (SD1.x, SD2-base, SDXL): the network predicts the noise."""

    sigma_data: float = 1.0

    def calculate_input(self, sigma: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma, noise.ndim)
        return noise / (sigma ** 2 + self.sigma_data ** 2) ** 0.5

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma, model_output.ndim)
        return model_input - model_output * sigma

    def noise_scaling(self, sigma: torch.Tensor, noise: torch.Tensor, latent_image: torch.Tensor,
                      max_denoise: bool = False) -> torch.Tensor:
        """The starting point at σ. Starting from pure noise, ComfyUI scales it by √(1+σ²) (the variance of
        a VP latent at σ_max), otherwise by σ."""
        sigma = reshape_sigma(sigma, noise.ndim)
        noise = noise * torch.sqrt(1.0 + sigma ** 2.0) if max_denoise else noise * sigma
        return noise + latent_image

    def inverse_noise_scaling(self, sigma: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        return latent


class V_PREDICTION(EPS):
    """v-prediction (SD2-768, some SDXL finetunes)."""

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma, model_output.ndim)
        data = self.sigma_data
        return (model_input * data ** 2 / (sigma ** 2 + data ** 2)
                - model_output * sigma * data / (sigma ** 2 + data ** 2) ** 0.5)


class EDM(V_PREDICTION):
    """Karras' EDM preconditioning (Playground v2.5, some SDXL finetunes), σ_data usually 0.5."""

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma, model_output.ndim)
        data = self.sigma_data
        return (model_input * data ** 2 / (sigma ** 2 + data ** 2)
                + model_output * sigma * data / (sigma ** 2 + data ** 2) ** 0.5)


class X0(EPS):
    """The network predicts the clean latent directly."""

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        return model_output


class IMG_TO_IMG(X0):
    """x0-prediction fed the unscaled input."""

    def calculate_input(self, sigma: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return noise


class CONST:
    """Rectified flow (SD3, Flux, AuraFlow, Lumina 2 …): x = (1−σ)·x0 + σ·ε and the network predicts the
    velocity ε − x0, so x0 = x − σ·v. ``noise_scale`` scales the noise as some families were trained."""

    noise_scale: float = 1.0

    def calculate_input(self, sigma: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return noise

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma, model_output.ndim)
        return model_input - model_output * sigma

    def noise_scaling(self, sigma: torch.Tensor, noise: torch.Tensor, latent_image: torch.Tensor,
                      max_denoise: bool = False) -> torch.Tensor:
        sigma = reshape_sigma(sigma, noise.ndim)
        return sigma * (self.noise_scale * noise) + (1.0 - sigma) * latent_image

    def inverse_noise_scaling(self, sigma: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma, latent.ndim)
        return latent / (1.0 - sigma)


class COSMOS_RFLOW:
    """Cosmos' rectified flow in σ/(σ+1) time."""

    def calculate_input(self, sigma: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma / (sigma + 1), noise.ndim)
        return noise * (1.0 - sigma)

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        sigma = reshape_sigma(sigma / (sigma + 1), model_output.ndim)
        return model_input * (1.0 - sigma) - model_output * sigma

    def noise_scaling(self, sigma: torch.Tensor, noise: torch.Tensor, latent_image: torch.Tensor,
                      max_denoise: bool = False) -> torch.Tensor:
        sigma = reshape_sigma(sigma, noise.ndim)
        return noise * sigma + latent_image

    def inverse_noise_scaling(self, sigma: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        return latent


class LCM(EPS):
    """Latent-consistency models: ε output mixed with the input by the consistency boundary terms."""

    def calculate_denoised(self, sigma: torch.Tensor, model_output: torch.Tensor,
                           model_input: torch.Tensor) -> torch.Tensor:
        shape = sigma.shape[:1] + (1,) * (model_output.ndim - 1)
        timestep: torch.Tensor = self.timestep(sigma).view(shape)  # type: ignore[attr-defined]
        sigma = sigma.view(shape)
        x0 = model_input - model_output * sigma
        sigma_data = 0.5
        scaled_timestep = timestep * 10.0
        c_skip = sigma_data ** 2 / (scaled_timestep ** 2 + sigma_data ** 2)
        c_out = scaled_timestep / (scaled_timestep ** 2 + sigma_data ** 2) ** 0.5
        denoised: torch.Tensor = c_out * x0 + c_skip * model_input
        return denoised

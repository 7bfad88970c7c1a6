"""Custom sampling: SAMPLER, NOISE and GUIDER values and the nodes that combine them (ComfyUI's
nodes_custom_sampler). SamplerCustomAdvanced = noise + guider + sampler + sigmas; KSampler runs the same
code with a CFGGuider, the named sampler and the named schedule.

Values: a SAMPLER is ``samplers.Sampler`` (a sampler function and its options), a NOISE has a ``seed`` and
``generate_noise(latent)`` (as ComfyUI's noise objects), a GUIDER is ``guidance.Guider``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Combo, Conditioning, Context, Float, Int, Latent, Model, Output, Socket, node

from .diffusion.names import SAMPLER_NAMES

SamplerValue = Annotated[Any, Socket(type="SAMPLER")]
NoiseValue = Annotated[Any, Socket(type="NOISE")]
GuiderValue = Annotated[Any, Socket(type="GUIDER")]
Sigmas = Annotated[Any, Socket(type="SIGMAS")]
Seed = Annotated[int, Int(min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True)]
Cfg = Annotated[float, Float(min=0.0, max=100.0, step=0.1, round=0.01)]
Eta = Annotated[float, Float(min=0.0, max=100.0, step=0.01, round=False)]
NoiseDevice = Literal["gpu", "cpu"]
Outputs = tuple[Annotated[dict[str, Any], Socket(type="LATENT"), Output("output")],
                Annotated[dict[str, Any], Socket(type="LATENT"), Output("denoised_output")]]
SAMPLERS_CATEGORY = "sampling/custom_sampling/samplers"
GUIDERS = "sampling/custom_sampling/guiders"
NOISE = "sampling/custom_sampling/noise"


def _sampler(name: str, **options: Any) -> Any:
    from .diffusion.samplers import sampler_object

    return sampler_object(name, **options)


# -- samplers -------------------------------------------------------------------------------------------

@node(category=SAMPLERS_CATEGORY)
def KSamplerSelect(sampler_name: Annotated[str, Combo(options=SAMPLER_NAMES)]) -> SamplerValue:
    """A sampler by name, with its default options."""
    return _sampler(sampler_name)


@node(category=SAMPLERS_CATEGORY)
def SamplerDPMPP_3M_SDE(eta: Eta = 1.0, s_noise: Eta = 1.0, *, noise_device: NoiseDevice) -> SamplerValue:
    """DPM-Solver++(3M) SDE; noise_device gpu draws the Brownian noise on the sampling device."""
    return _sampler("dpmpp_3m_sde" if noise_device == "cpu" else "dpmpp_3m_sde_gpu", eta=eta, s_noise=s_noise)


@node(category=SAMPLERS_CATEGORY)
def SamplerDPMPP_2M_SDE(*, solver_type: Literal["midpoint", "heun"], eta: Eta = 1.0, s_noise: Eta = 1.0,
                        noise_device: NoiseDevice) -> SamplerValue:
    """DPM-Solver++(2M) SDE with a midpoint or Heun correction."""
    return _sampler("dpmpp_2m_sde" if noise_device == "cpu" else "dpmpp_2m_sde_gpu", eta=eta, s_noise=s_noise,
                    solver_type=solver_type)


@node(category=SAMPLERS_CATEGORY)
def SamplerDPMPP_SDE(eta: Eta = 1.0, s_noise: Eta = 1.0, r: Eta = 0.5, *, noise_device: NoiseDevice
                     ) -> SamplerValue:
    """DPM-Solver++ SDE; r places the intermediate evaluation."""
    return _sampler("dpmpp_sde" if noise_device == "cpu" else "dpmpp_sde_gpu", eta=eta, s_noise=s_noise, r=r)


@node(category=SAMPLERS_CATEGORY)
def SamplerDPMPP_2S_Ancestral(eta: Eta = 1.0, s_noise: Eta = 1.0) -> SamplerValue:
    """DPM-Solver++(2S) ancestral."""
    return _sampler("dpmpp_2s_ancestral", eta=eta, s_noise=s_noise)


@node(category=SAMPLERS_CATEGORY)
def SamplerEulerAncestral(eta: Eta = 1.0, s_noise: Eta = 1.0) -> SamplerValue:
    """Euler ancestral; eta scales the fresh noise of each step."""
    return _sampler("euler_ancestral", eta=eta, s_noise=s_noise)


@node(display_name="SamplerEulerAncestralCFG++", category=SAMPLERS_CATEGORY)
def SamplerEulerAncestralCFGPP(eta: Annotated[float, Float(min=0.0, max=1.0, step=0.01, round=False)] = 1.0,
                               s_noise: Annotated[float, Float(min=0.0, max=10.0, step=0.01, round=False)] = 1.0,
                               ) -> SamplerValue:
    """Euler ancestral with CFG++."""
    return _sampler("euler_ancestral_cfg_pp", eta=eta, s_noise=s_noise)


@node(category=SAMPLERS_CATEGORY)
def SamplerLMS(order: Annotated[int, Int(min=1, max=100)] = 4) -> SamplerValue:
    """Linear multistep of a chosen order."""
    return _sampler("lms", order=order)


@node(category=SAMPLERS_CATEGORY)
def SamplerDPMAdaptative(order: Annotated[int, Int(min=2, max=3)] = 3, rtol: Eta = 0.05, atol: Eta = 0.0078,
                         h_init: Eta = 0.05, pcoeff: Eta = 0.0, icoeff: Eta = 1.0, dcoeff: Eta = 0.0,
                         accept_safety: Eta = 0.81, eta: Eta = 0.0, s_noise: Eta = 1.0) -> SamplerValue:
    """DPM-Solver with adaptive step size (a PID controller on the local error)."""
    return _sampler("dpm_adaptive", order=order, rtol=rtol, atol=atol, h_init=h_init, pcoeff=pcoeff, icoeff=icoeff,
                    dcoeff=dcoeff, accept_safety=accept_safety, eta=eta, s_noise=s_noise)


@node(category=SAMPLERS_CATEGORY)
def SamplerER_SDE(
    *,
    solver_type: Literal["ER-SDE", "Reverse-time SDE", "ODE"],
    max_stage: Annotated[int, Int(min=1, max=3)] = 3,
    eta: Annotated[float, Float(min=0.0, max=100.0, step=0.01, round=False, tooltip=(
        "Stochastic strength of reverse-time SDE.\nWhen eta=0, it reduces to deterministic ODE. This setting "
        "doesn't apply to ER-SDE solver type."))] = 1.0,
    s_noise: Eta = 1.0,
) -> SamplerValue:
    """ER-SDE, the reverse-time SDE (noise scaler x^(η+1)) or the ODE."""
    if solver_type == "ODE" or (solver_type == "Reverse-time SDE" and eta == 0):
        eta, s_noise = 0, 0

    def reverse_time_sde(x: Any) -> Any:
        return x ** (eta + 1)

    scaler = None if solver_type == "ER-SDE" else reverse_time_sde
    return _sampler("er_sde", s_noise=s_noise, noise_scaler=scaler, max_stage=max_stage)


@node(category=SAMPLERS_CATEGORY)
def SamplerSASolver(
    model: Model,
    eta: Annotated[float, Float(min=0.0, max=10.0, step=0.01, round=False)] = 1.0,
    sde_start_percent: Annotated[float, Float(min=0.0, max=1.0, step=0.001)] = 0.2,
    sde_end_percent: Annotated[float, Float(min=0.0, max=1.0, step=0.001)] = 0.8,
    s_noise: Eta = 1.0,
    predictor_order: Annotated[int, Int(min=1, max=6)] = 3,
    corrector_order: Annotated[int, Int(min=0, max=6)] = 4,
    use_pece: Annotated[bool, Boolean()] = False,
    simple_order_2: Annotated[bool, Boolean()] = False,
) -> SamplerValue:
    """SA-Solver; it is stochastic between the two sampling percentages of the model."""
    from .diffusion.ksamplers.exponential import tau_interval
    from .diffusion.model_api import model_sampling_of

    model_sampling = model_sampling_of(model)
    tau = tau_interval(model_sampling.percent_to_sigma(sde_start_percent),
                       model_sampling.percent_to_sigma(sde_end_percent), eta=eta)
    return _sampler("sa_solver", tau_func=tau, s_noise=s_noise, predictor_order=predictor_order,
                    corrector_order=corrector_order, use_pece=use_pece, simple_order_2=simple_order_2)


# -- noise ----------------------------------------------------------------------------------------------

@node(category=NOISE)
def RandomNoise(noise_seed: Seed = 0) -> NoiseValue:
    """Noise drawn on the CPU from the seed (the same image on any device)."""
    from .diffusion.ksampler import SeededNoise

    return SeededNoise(noise_seed)


@node(category=NOISE)
def DisableNoise() -> NoiseValue:
    """No noise: sample the latent as it is (a second pass, or a latent noised elsewhere)."""
    from .diffusion.ksampler import EmptyNoise

    return EmptyNoise()


@node(category="_for_testing/custom_sampling/noise", experimental=True)
def AddNoise(model: Model, noise: NoiseValue, sigmas: Sigmas, latent_image: Latent) -> Latent:
    """Noises a latent to the schedule's range, as the model would see it."""
    from .diffusion.ksampler import add_noise

    return add_noise(model, noise, sigmas, latent_image)


# -- guiders --------------------------------------------------------------------------------------------

@node(category=GUIDERS)
def BasicGuider(model: Model, conditioning: Conditioning) -> GuiderValue:
    """The conditioning alone, no CFG (guidance-distilled models such as Flux dev)."""
    from .diffusion.guidance import BasicGuider as Basic

    return Basic(model, conditioning)


@node(category=GUIDERS)
def CFGGuider(model: Model, positive: Conditioning, negative: Conditioning, cfg: Cfg = 8.0) -> GuiderValue:
    """Classifier-free guidance: negative + (positive − negative)·cfg."""
    from .diffusion.guidance import CFGGuider as Guider

    return Guider(model, positive, negative, cfg)


@node(category=GUIDERS)
def DualCFGGuider(model: Model, cond1: Conditioning, cond2: Conditioning, negative: Conditioning,
                  cfg_conds: Cfg = 8.0, cfg_cond2_negative: Cfg = 8.0, *,
                  style: Literal["regular", "nested"]) -> GuiderValue:
    """cond1 guided against cond2, and cond2 against the negative."""
    from .diffusion.guidance import DualCFGGuider as Dual

    return Dual(model, cond1, cond2, negative, cfg_conds, cfg_cond2_negative, nested=style == "nested")


# -- sampling -------------------------------------------------------------------------------------------

def _check(node_name: str, sampler: Any, sigmas: Any, latent: Any, guider: Any = None, noise: Any = None) -> None:
    """Clear errors for values that did not come from this engine's nodes."""
    from .diffusion.guidance import Guider
    from .diffusion.samplers import Sampler

    if not isinstance(sampler, Sampler):
        raise ValueError(f"{node_name}: input 'sampler' is {type(sampler).__name__}, not a SAMPLER from "
                         "KSamplerSelect or a Sampler… node")
    if not hasattr(sigmas, "ndim") or sigmas.ndim != 1:
        raise ValueError(f"{node_name}: input 'sigmas' must be a 1-D SIGMAS tensor")
    if not isinstance(latent, dict) or "samples" not in latent:
        raise ValueError(f"{node_name}: input 'latent_image' is not a LATENT")
    if guider is not None and not isinstance(guider, Guider):
        raise ValueError(f"{node_name}: input 'guider' is {type(guider).__name__}, not a GUIDER from a guider node")
    if noise is not None and not (hasattr(noise, "generate_noise") and hasattr(noise, "seed")):
        raise ValueError(f"{node_name}: input 'noise' has no generate_noise/seed; connect RandomNoise or DisableNoise")


@node(category="sampling/custom_sampling")
def SamplerCustom(ctx: Context, model: Model, add_noise: Annotated[bool, Boolean()] = True, noise_seed: Seed = 0,
                  cfg: Cfg = 8.0, *, positive: Conditioning, negative: Conditioning, sampler: SamplerValue,
                  sigmas: Sigmas, latent_image: Latent) -> Outputs:
    """Samples with CFG, a SAMPLER and SIGMAS; also returns the last step's denoised estimate."""
    from .diffusion.guidance import CFGGuider as Guider
    from .diffusion.ksampler import EmptyNoise, SeededNoise, fix_empty_latent_channels, run_sampler

    _check("SamplerCustom", sampler, sigmas, latent_image)
    latent_image = fix_empty_latent_channels(model, latent_image)
    noise = (SeededNoise(noise_seed) if add_noise else EmptyNoise()).generate_noise(latent_image)
    return run_sampler(ctx, Guider(model, positive, negative, cfg), sampler, sigmas, noise, latent_image, noise_seed)


@node(category="sampling/custom_sampling")
def SamplerCustomAdvanced(ctx: Context, noise: NoiseValue, guider: GuiderValue, sampler: SamplerValue,
                          sigmas: Sigmas, latent_image: Latent) -> Outputs:
    """Samples with a NOISE, a GUIDER, a SAMPLER and SIGMAS; also returns the last denoised estimate."""
    from .diffusion.ksampler import fix_empty_latent_channels, run_sampler

    _check("SamplerCustomAdvanced", sampler, sigmas, latent_image, guider, noise)
    latent_image = fix_empty_latent_channels(guider.model, latent_image)
    return run_sampler(ctx, guider, sampler, sigmas, noise.generate_noise(latent_image), latent_image,
                       int(noise.seed))


NODES = [SamplerCustom, KSamplerSelect, SamplerEulerAncestral, SamplerEulerAncestralCFGPP, SamplerLMS,
         SamplerDPMPP_3M_SDE, SamplerDPMPP_2M_SDE, SamplerDPMPP_SDE, SamplerDPMPP_2S_Ancestral, SamplerDPMAdaptative,
         SamplerER_SDE, SamplerSASolver, CFGGuider, DualCFGGuider, BasicGuider, RandomNoise, DisableNoise, AddNoise,
         SamplerCustomAdvanced]

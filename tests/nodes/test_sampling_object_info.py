"""/object_info entries of the sampling, model-sampling and conditioning nodes against ComfyUI's declarations
(nodes_custom_sampler, nodes_model_advanced, nodes_flux, nodes_clip_sdxl and nodes.py of the 0.8.0 era),
written down here by hand: names, input order, widget options, outputs, categories."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.diffusion.names import SAMPLER_NAMES, SCHEDULER_NAMES

SEED = ["INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True}]
CFG = ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}]
STEPS = ["INT", {"default": 20, "min": 1, "max": 10000}]
DENOISE = ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}]


def f(default: float, lo: float, hi: float, step: float, round_: Any = None) -> list[Any]:
    options: dict[str, Any] = {"default": default, "min": lo, "max": hi, "step": step}
    if round_ is not None:
        options["round"] = round_
    return ["FLOAT", options]


def i(default: int, lo: int, hi: int, step: int | None = None) -> list[Any]:
    options: dict[str, Any] = {"default": default, "min": lo, "max": hi}
    if step is not None:
        options["step"] = step
    return ["INT", options]


ETA = f(1.0, 0.0, 100.0, 0.01, False)
SIGMA_MAX = f(14.614642, 0.0, 5000.0, 0.01, False)
SIGMA_MIN = f(0.0291675, 0.0, 5000.0, 0.01, False)
SHIFT = f(3.0, 0.0, 100.0, 0.01)
CUSTOM = "sampling/custom_sampling"
SAMPLERS, SCHEDULERS, SIGMAS = f"{CUSTOM}/samplers", f"{CUSTOM}/schedulers", f"{CUSTOM}/sigmas"
GUIDERS, NOISE = f"{CUSTOM}/guiders", f"{CUSTOM}/noise"
STRENGTH = f(1.0, 0.0, 10.0, 0.01)
SIZE = i(1024, 0, 16384)
TEXT = ["STRING", {"multiline": True, "dynamicPrompts": True}]

# class_type: (category, display name or None, [(input, config)], [(output type, output name)])
REFERENCE: dict[str, tuple[str, str | None, list[tuple[str, list[Any]]], list[tuple[str, str]]]] = {
    "KSamplerSelect": (SAMPLERS, None, [("sampler_name", [list(SAMPLER_NAMES)])], [("SAMPLER", "SAMPLER")]),
    "SamplerEulerAncestral": (SAMPLERS, None, [("eta", ETA), ("s_noise", ETA)], [("SAMPLER", "SAMPLER")]),
    "SamplerEulerAncestralCFGPP": (SAMPLERS, "SamplerEulerAncestralCFG++", [
        ("eta", f(1.0, 0.0, 1.0, 0.01, False)), ("s_noise", f(1.0, 0.0, 10.0, 0.01, False))], [("SAMPLER", "SAMPLER")]),
    "SamplerLMS": (SAMPLERS, None, [("order", i(4, 1, 100))], [("SAMPLER", "SAMPLER")]),
    "SamplerDPMPP_3M_SDE": (SAMPLERS, None, [("eta", ETA), ("s_noise", ETA), ("noise_device", [["gpu", "cpu"]])],
                            [("SAMPLER", "SAMPLER")]),
    "SamplerDPMPP_2M_SDE": (SAMPLERS, None, [("solver_type", [["midpoint", "heun"]]), ("eta", ETA), ("s_noise", ETA),
                                             ("noise_device", [["gpu", "cpu"]])], [("SAMPLER", "SAMPLER")]),
    "SamplerDPMPP_SDE": (SAMPLERS, None, [("eta", ETA), ("s_noise", ETA), ("r", f(0.5, 0.0, 100.0, 0.01, False)),
                                          ("noise_device", [["gpu", "cpu"]])], [("SAMPLER", "SAMPLER")]),
    "SamplerDPMPP_2S_Ancestral": (SAMPLERS, None, [("eta", ETA), ("s_noise", ETA)], [("SAMPLER", "SAMPLER")]),
    "SamplerDPMAdaptative": (SAMPLERS, None, [
        ("order", i(3, 2, 3)), ("rtol", f(0.05, 0.0, 100.0, 0.01, False)), ("atol", f(0.0078, 0.0, 100.0, 0.01, False)),
        ("h_init", f(0.05, 0.0, 100.0, 0.01, False)), ("pcoeff", f(0.0, 0.0, 100.0, 0.01, False)),
        ("icoeff", f(1.0, 0.0, 100.0, 0.01, False)), ("dcoeff", f(0.0, 0.0, 100.0, 0.01, False)),
        ("accept_safety", f(0.81, 0.0, 100.0, 0.01, False)), ("eta", f(0.0, 0.0, 100.0, 0.01, False)),
        ("s_noise", ETA)], [("SAMPLER", "SAMPLER")]),
    "SamplerER_SDE": (SAMPLERS, None, [
        ("solver_type", [["ER-SDE", "Reverse-time SDE", "ODE"]]), ("max_stage", i(3, 1, 3)),
        ("eta", ["FLOAT", {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.01, "round": False, "tooltip": (
            "Stochastic strength of reverse-time SDE.\nWhen eta=0, it reduces to deterministic ODE. This setting "
            "doesn't apply to ER-SDE solver type.")}]), ("s_noise", ETA)], [("SAMPLER", "SAMPLER")]),
    "SamplerSASolver": (SAMPLERS, None, [
        ("model", ["MODEL"]), ("eta", f(1.0, 0.0, 10.0, 0.01, False)), ("sde_start_percent", f(0.2, 0.0, 1.0, 0.001)),
        ("sde_end_percent", f(0.8, 0.0, 1.0, 0.001)), ("s_noise", ETA), ("predictor_order", i(3, 1, 6)),
        ("corrector_order", i(4, 0, 6)), ("use_pece", ["BOOLEAN", {"default": False}]),
        ("simple_order_2", ["BOOLEAN", {"default": False}])], [("SAMPLER", "SAMPLER")]),
    "BasicScheduler": (SCHEDULERS, None, [("model", ["MODEL"]), ("scheduler", [list(SCHEDULER_NAMES)]),
                                          ("steps", STEPS), ("denoise", DENOISE)], [("SIGMAS", "SIGMAS")]),
    "KarrasScheduler": (SCHEDULERS, None, [("steps", STEPS), ("sigma_max", SIGMA_MAX), ("sigma_min", SIGMA_MIN),
                                           ("rho", f(7.0, 0.0, 100.0, 0.01, False))], [("SIGMAS", "SIGMAS")]),
    "ExponentialScheduler": (SCHEDULERS, None, [("steps", STEPS), ("sigma_max", SIGMA_MAX), ("sigma_min", SIGMA_MIN)],
                             [("SIGMAS", "SIGMAS")]),
    "PolyexponentialScheduler": (SCHEDULERS, None, [("steps", STEPS), ("sigma_max", SIGMA_MAX),
                                                    ("sigma_min", SIGMA_MIN), ("rho", f(1.0, 0.0, 100.0, 0.01, False))],
                                 [("SIGMAS", "SIGMAS")]),
    "LaplaceScheduler": (SCHEDULERS, None, [("steps", STEPS), ("sigma_max", SIGMA_MAX), ("sigma_min", SIGMA_MIN),
                                            ("mu", f(0.0, -10.0, 10.0, 0.1, False)),
                                            ("beta", f(0.5, 0.0, 10.0, 0.1, False))], [("SIGMAS", "SIGMAS")]),
    "VPScheduler": (SCHEDULERS, None, [("steps", STEPS), ("beta_d", f(19.9, 0.0, 5000.0, 0.01, False)),
                                       ("beta_min", f(0.1, 0.0, 5000.0, 0.01, False)),
                                       ("eps_s", f(0.001, 0.0, 1.0, 0.0001, False))], [("SIGMAS", "SIGMAS")]),
    "BetaSamplingScheduler": (SCHEDULERS, None, [("model", ["MODEL"]), ("steps", STEPS),
                                                 ("alpha", f(0.6, 0.0, 50.0, 0.01, False)),
                                                 ("beta", f(0.6, 0.0, 50.0, 0.01, False))], [("SIGMAS", "SIGMAS")]),
    "SDTurboScheduler": (SCHEDULERS, None, [("model", ["MODEL"]), ("steps", i(1, 1, 10)),
                                            ("denoise", f(1.0, 0, 1.0, 0.01))], [("SIGMAS", "SIGMAS")]),
    "SplitSigmas": (SIGMAS, None, [("sigmas", ["SIGMAS"]), ("step", i(0, 0, 10000))],
                    [("SIGMAS", "high_sigmas"), ("SIGMAS", "low_sigmas")]),
    "SplitSigmasDenoise": (SIGMAS, None, [("sigmas", ["SIGMAS"]), ("denoise", DENOISE)],
                           [("SIGMAS", "high_sigmas"), ("SIGMAS", "low_sigmas")]),
    "FlipSigmas": (SIGMAS, None, [("sigmas", ["SIGMAS"])], [("SIGMAS", "SIGMAS")]),
    "SetFirstSigma": (SIGMAS, None, [("sigmas", ["SIGMAS"]), ("sigma", f(136.0, 0.0, 20000.0, 0.001, False))],
                      [("SIGMAS", "SIGMAS")]),
    "ExtendIntermediateSigmas": (SIGMAS, None, [
        ("sigmas", ["SIGMAS"]), ("steps", i(2, 1, 100)), ("start_at_sigma", f(-1.0, -1.0, 20000.0, 0.01, False)),
        ("end_at_sigma", f(12.0, 0.0, 20000.0, 0.01, False)), ("spacing", [["linear", "cosine", "sine"]])],
        [("SIGMAS", "SIGMAS")]),
    "SamplingPercentToSigma": (SIGMAS, None, [
        ("model", ["MODEL"]), ("sampling_percent", f(0.0, 0.0, 1.0, 0.0001)),
        ("return_actual_sigma", ["BOOLEAN", {"default": False, "tooltip": (
            "Return the actual sigma value instead of the value used for interval checks.\n"
            "This only affects results at 0.0 and 1.0.")}])], [("FLOAT", "sigma_value")]),
    "ManualSigmas": (SIGMAS, None, [("sigmas", ["STRING", {"default": "1, 0.5", "multiline": False}])],
                     [("SIGMAS", "SIGMAS")]),
    "RandomNoise": (NOISE, None, [("noise_seed", SEED)], [("NOISE", "NOISE")]),
    "DisableNoise": (NOISE, None, [], [("NOISE", "NOISE")]),
    "AddNoise": ("_for_testing/custom_sampling/noise", None, [
        ("model", ["MODEL"]), ("noise", ["NOISE"]), ("sigmas", ["SIGMAS"]), ("latent_image", ["LATENT"])],
        [("LATENT", "LATENT")]),
    "BasicGuider": (GUIDERS, None, [("model", ["MODEL"]), ("conditioning", ["CONDITIONING"])], [("GUIDER", "GUIDER")]),
    "CFGGuider": (GUIDERS, None, [("model", ["MODEL"]), ("positive", ["CONDITIONING"]),
                                  ("negative", ["CONDITIONING"]), ("cfg", CFG)], [("GUIDER", "GUIDER")]),
    "DualCFGGuider": (GUIDERS, None, [
        ("model", ["MODEL"]), ("cond1", ["CONDITIONING"]), ("cond2", ["CONDITIONING"]), ("negative", ["CONDITIONING"]),
        ("cfg_conds", CFG), ("cfg_cond2_negative", CFG), ("style", [["regular", "nested"]])], [("GUIDER", "GUIDER")]),
    "SamplerCustom": (CUSTOM, None, [
        ("model", ["MODEL"]), ("add_noise", ["BOOLEAN", {"default": True}]), ("noise_seed", SEED), ("cfg", CFG),
        ("positive", ["CONDITIONING"]), ("negative", ["CONDITIONING"]), ("sampler", ["SAMPLER"]),
        ("sigmas", ["SIGMAS"]), ("latent_image", ["LATENT"])], [("LATENT", "output"), ("LATENT", "denoised_output")]),
    "SamplerCustomAdvanced": (CUSTOM, None, [
        ("noise", ["NOISE"]), ("guider", ["GUIDER"]), ("sampler", ["SAMPLER"]), ("sigmas", ["SIGMAS"]),
        ("latent_image", ["LATENT"])], [("LATENT", "output"), ("LATENT", "denoised_output")]),
    "ModelSamplingDiscrete": ("advanced/model", None, [
        ("model", ["MODEL"]), ("sampling", [["eps", "v_prediction", "lcm", "x0", "img_to_img"]]),
        ("zsnr", ["BOOLEAN", {"default": False}])], [("MODEL", "MODEL")]),
    "ModelSamplingSD3": ("advanced/model", None, [("model", ["MODEL"]), ("shift", SHIFT)], [("MODEL", "MODEL")]),
    "ModelSamplingAuraFlow": ("advanced/model", None, [("model", ["MODEL"]), ("shift", f(1.73, 0.0, 100.0, 0.01))],
                              [("MODEL", "MODEL")]),
    "ModelSamplingFlux": ("advanced/model", None, [
        ("model", ["MODEL"]), ("max_shift", f(1.15, 0.0, 100.0, 0.01)), ("base_shift", f(0.5, 0.0, 100.0, 0.01)),
        ("width", i(1024, 16, 16384, 8)), ("height", i(1024, 16, 16384, 8))], [("MODEL", "MODEL")]),
    "ModelSamplingContinuousEDM": ("advanced/model", None, [
        ("model", ["MODEL"]), ("sampling", [["v_prediction", "edm", "edm_playground_v2.5", "eps", "cosmos_rflow"]]),
        ("sigma_max", f(120.0, 0.0, 1000.0, 0.001, False)), ("sigma_min", f(0.002, 0.0, 1000.0, 0.001, False))],
        [("MODEL", "MODEL")]),
    "ModelSamplingContinuousV": ("advanced/model", None, [
        ("model", ["MODEL"]), ("sampling", [["v_prediction"]]), ("sigma_max", f(500.0, 0.0, 1000.0, 0.001, False)),
        ("sigma_min", f(0.03, 0.0, 1000.0, 0.001, False))], [("MODEL", "MODEL")]),
    "ConditioningSetAreaPercentage": ("conditioning", "Conditioning (Set Area with Percentage)", [
        ("conditioning", ["CONDITIONING"]), ("width", f(1.0, 0, 1.0, 0.01)), ("height", f(1.0, 0, 1.0, 0.01)),
        ("x", f(0, 0, 1.0, 0.01)), ("y", f(0, 0, 1.0, 0.01)), ("strength", STRENGTH)],
        [("CONDITIONING", "CONDITIONING")]),
    "ConditioningSetAreaStrength": ("conditioning", None, [("conditioning", ["CONDITIONING"]), ("strength", STRENGTH)],
                                    [("CONDITIONING", "CONDITIONING")]),
    "ConditioningSetMask": ("conditioning", "Conditioning (Set Mask)", [
        ("conditioning", ["CONDITIONING"]), ("mask", ["MASK"]), ("strength", STRENGTH),
        ("set_cond_area", [["default", "mask bounds"]])], [("CONDITIONING", "CONDITIONING")]),
    "ConditioningSetTimestepRange": ("advanced/conditioning", None, [
        ("conditioning", ["CONDITIONING"]), ("start", f(0.0, 0.0, 1.0, 0.001)), ("end", f(1.0, 0.0, 1.0, 0.001))],
        [("CONDITIONING", "CONDITIONING")]),
    "FluxGuidance": ("advanced/conditioning/flux", None, [("conditioning", ["CONDITIONING"]),
                                                          ("guidance", f(3.5, 0.0, 100.0, 0.1))],
                     [("CONDITIONING", "CONDITIONING")]),
    "CLIPTextEncodeSDXL": ("advanced/conditioning", None, [
        ("clip", ["CLIP"]), ("width", SIZE), ("height", SIZE), ("crop_w", i(0, 0, 16384)), ("crop_h", i(0, 0, 16384)),
        ("target_width", SIZE), ("target_height", SIZE), ("text_g", TEXT), ("text_l", TEXT)],
        [("CONDITIONING", "CONDITIONING")]),
    "CLIPTextEncodeSDXLRefiner": ("advanced/conditioning", None, [
        ("ascore", f(6.0, 0.0, 1000.0, 0.01)), ("width", SIZE), ("height", SIZE), ("text", TEXT), ("clip", ["CLIP"])],
        [("CONDITIONING", "CONDITIONING")]),
}


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {spec_of(fn).class_type: spec_of(fn) for fn in nodes.node_list()}


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(specs: dict[str, Any], class_type: str) -> None:
    category, display, inputs, outputs = REFERENCE[class_type]
    info = node_info(specs[class_type], None)
    assert info["name"] == class_type and info["category"] == category
    assert info["display_name"] == (display or class_type)
    assert info["input_order"]["required"] == [name for name, _ in inputs]
    assert "optional" not in info["input"]
    for name, config in inputs:
        assert info["input"]["required"][name] == config, name
    assert info["output"] == [t for t, _ in outputs] and info["output_name"] == [n for _, n in outputs]
    assert info["output_is_list"] == [False] * len(outputs) and info["output_node"] is False

"""The nodes ``benchmarks/pack_compat.py`` tries in each real pack, with their documented results (see
``pack_cases.py``). Expected values are written from each node's documentation (its name, tooltip or README:
"flips along x", "Rec.709 luminance", "joins with the delimiter"), never by calling the pack."""

from __future__ import annotations

from collections.abc import Callable

import torch
from pack_cases import SAMPLING, Case, base_graph, binary_mask, const, equal, image, lora_case, simple, versus

IMG, IMG2, MASK, MASK2 = image(0), image(1), binary_mask(0), binary_mask(1)
SOFT_MASK = torch.rand(1, 32, 48, generator=torch.Generator().manual_seed(3))


def _rec709(img: torch.Tensor) -> torch.Tensor:
    gray = 0.2126 * img[..., 0] + 0.7152 * img[..., 1] + 0.0722 * img[..., 2]
    return gray[..., None].repeat(1, 1, 1, 3)


def _ksampler_twin(node: str, inputs: dict[str, object], tol: float) -> Case:
    """A pack sampler documented to give the built-in KSampler's latent for these inputs."""
    entry = {"class_type": node, "inputs": inputs}
    return versus(node, entry, {"class_type": "KSampler", "inputs": {
        **SAMPLING, "model": ["ckpt", 0], "positive": ["pos", 0], "negative": ["neg", 0],
        "latent_image": ["empty", 0]}}, tol=tol, model=True, index=1 if node == "ImpactKSamplerBasicPipe" else 0)


def _two_colour_image() -> torch.Tensor:
    out = torch.zeros(1, 8, 8, 3)
    out[:, :, :4, 0] = 1.0  # left half red
    out[:, :, 4:, 2] = 1.0  # right half blue
    return out


ESSENTIALS: list[Callable[[], Case]] = [
    lambda: simple("ImageFlip+", {"axis": "x"}, {"0": torch.flip(IMG, [2])}, constants={"image": IMG}),
    lambda: simple("MaskFlip+", {"axis": "xy"}, {"0": torch.flip(MASK, [1, 2])}, constants={"mask": MASK}),
    lambda: simple("ImageDesaturate+", {"factor": 1.0, "method": "luminance (Rec.709)"}, {"0": _rec709(IMG)},
                   tol=1e-6, constants={"image": IMG}),
    lambda: simple("ImagePosterize+", {"threshold": 0.5},
                   {"0": (IMG.mean(dim=3, keepdim=True) > 0.5).float().repeat(1, 1, 1, 3)}, constants={"image": IMG}),
    lambda: simple("SimpleMath+", {"value": "a*b+c"}, {"0": 17, "1": 17.0}, constants={"a": 3, "b": 4, "c": 5}),
    lambda: simple("GetImageSize+", {}, {"0": 48, "1": 32, "2": 1}, constants={"image": IMG}),
    lambda: _variations(),
]


def _variations() -> Case:
    """KSamplerVariationsWithNoise+ at variation strength 0: the main seed's noise times the schedule's first σ
    put into the latent (in the VAE's scale), then sampled without adding noise (its README)."""
    from inkgraph.nodes.diffusion.model_sampling import discrete
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas

    sigma = float(sampling_sigmas(discrete("epsilon"), "normal", "euler", 3)[0])
    noise = torch.randn((1, 4, 8, 8), generator=torch.Generator().manual_seed(5))
    entry = {"class_type": "KSamplerVariationsWithNoise+", "inputs": {
        "model": ["ckpt", 0], "latent_image": ["empty", 0], "main_seed": 5, "steps": 3, "cfg": 7.0,
        "sampler_name": "euler", "scheduler": "normal", "positive": ["pos", 0], "negative": ["neg", 0],
        "variation_strength": 0.0, "variation_seed": 9, "denoise": 1.0}}
    builtin = {"class_type": "KSamplerAdvanced", "inputs": {
        "model": ["ckpt", 0], "add_noise": "disable", "noise_seed": 5, "steps": 3, "cfg": 7.0,
        "sampler_name": "euler", "scheduler": "normal", "positive": ["pos", 0], "negative": ["neg", 0],
        "latent_image": ["c_noised", 0], "start_at_step": 0, "end_at_step": 3, "return_with_leftover_noise": "disable"}}
    return versus("KSamplerVariationsWithNoise+", entry, builtin, tol=1e-4, model=True,
                  constants={"noised": {"samples": noise * sigma / 0.18215}})


def _scheduled_cfg() -> Case:
    prompt = base_graph()
    prompt.update({
        "sigmas": {"class_type": "BasicScheduler", "inputs": {"model": ["ckpt", 0], "scheduler": "normal", "steps": 3,
                                                             "denoise": 1.0}},
        "sampler": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "noise": {"class_type": "RandomNoise", "inputs": {"noise_seed": 5}},
        "guider": {"class_type": "CFGGuider", "inputs": {"model": ["ckpt", 0], "positive": ["pos", 0],
                                                        "negative": ["neg", 0], "cfg": 7.0}},
        "pack_guider": {"class_type": "ScheduledCFGGuidance", "inputs": {
            "model": ["ckpt", 0], "positive": ["pos", 0], "negative": ["neg", 0], "cfg": 7.0, "start_percent": 0.0,
            "end_percent": 1.0}},
    })
    for name, guider in (("builtin", "guider"), ("pack", "pack_guider")):
        prompt[name] = {"class_type": "SamplerCustomAdvanced", "inputs": {
            "noise": ["noise", 0], "guider": [guider, 0], "sampler": ["sampler", 0], "sigmas": ["sigmas", 0],
            "latent_image": ["empty", 0]}}
    return Case("ScheduledCFGGuidance", prompt, {"pack": ["pack", 0], "builtin": ["builtin", 0]},
                lambda c: equal(c["builtin"], c["pack"], 1e-5), uses_model=True)


def _color_to_mask() -> Case:
    img = _two_colour_image()
    expected = (torch.norm(img * 255 - torch.tensor([255.0, 0.0, 0.0]), dim=-1) <= 10).float()
    return simple("ColorToMask", {"invert": False, "red": 255, "green": 0, "blue": 0, "threshold": 10,
                                  "per_batch": 16}, {"0": expected}, constants={"images": img})


KJNODES: list[Callable[[], Case]] = [
    lambda: simple("JoinStrings", {"delimiter": "-", "string1": "a", "string2": "b"}, {"0": "a-b"}),
    lambda: simple("StringConstant", {"string": "hello"}, {"0": "hello"}),
    lambda: simple("ImageConcanate", {"direction": "right", "match_image_size": False},
                   {"0": torch.cat([IMG, IMG2[:, :, :16]], dim=2)},
                   constants={"image1": IMG, "image2": IMG2[:, :, :16]}),
    _color_to_mask,
    _scheduled_cfg,
]

EIGHT_BIT = 1 / 255 + 1e-6  # WAS and Comfyroll go through 8-bit PIL images
WAS: list[Callable[[], Case]] = [
    lambda: simple("Image Flip", {"mode": "horizontal"}, {"0": torch.flip(IMG, [2])}, tol=EIGHT_BIT,
                   constants={"images": IMG}),
    lambda: simple("Text Concatenate", {"delimiter": ", ", "clean_whitespace": "true", "text_a": "a", "text_b": "b"},
                   {"0": "a, b"}),
    lambda: simple("Mask Invert", {}, {"0": 1.0 - MASK}, constants={"masks": MASK}),
    lambda: simple("Number Operation", {"operation": "floor division"}, {"0": 3, "1": 3.0, "2": 3},
                   constants={"number_a": 7, "number_b": 2}),
    lambda: simple("Image Blank", {"width": 16, "height": 8, "red": 255, "green": 0, "blue": 0},
                   {"0": torch.tensor([1.0, 0.0, 0.0]).expand(1, 8, 16, 3)}),
    lambda: _was_ksampler(),
]


def _was_ksampler() -> Case:
    """KSampler (WAS): ComfyUI's KSampler with WAS's SEED value ({"seed": n})."""
    case = _ksampler_twin("KSampler (WAS)", {**SAMPLING, "model": ["ckpt", 0], "seed": ["seed", 0],
                                             "positive": ["pos", 0], "negative": ["neg", 0],
                                             "latent_image": ["empty", 0]}, tol=0.0)
    case.prompt["seed"] = const({"seed": 5})
    return case


def _cr_lora() -> Case:
    stack: dict[str, object] = {}
    for i in (1, 2, 3):
        stack.update({f"switch_{i}": "On" if i == 1 else "Off", f"lora_name_{i}": "style.safetensors" if i == 1
                      else "None", f"model_weight_{i}": 0.8, f"clip_weight_{i}": 0.8})
    case = lora_case("CR Apply LoRA Stack", {"class_type": "CR Apply LoRA Stack", "inputs": {
        "model": ["ckpt", 0], "clip": ["ckpt", 1], "lora_stack": ["stack", 0]}}, ["pack", 0], ["pack", 1])
    case.prompt["stack"] = {"class_type": "CR LoRA Stack", "inputs": stack}
    return case


COMFYROLL: list[Callable[[], Case]] = [
    lambda: simple("CR Text Concatenate", {"text1": "a", "text2": "b", "separator": "+"}, {"0": "a+b"}),
    lambda: simple("CR Math Operation", {"a": 4.0, "operation": "sqrt", "decimal_places": 2}, {"0": 2.0}),
    lambda: simple("CR Color Panel", {"panel_width": 16, "panel_height": 8, "fill_color": "red"},
                   {"0": torch.tensor([1.0, 0.0, 0.0]).expand(1, 8, 16, 3)}),
    _cr_lora,
]

DERFUU: list[Callable[[], Case]] = [
    lambda: simple("DF_String_Concatenate", {"Prepend": "a", "Append": "b", "Delimiter": ", "}, {"0": "a, b"}),
    lambda: simple("DF_Sum", {"Value_A": 1.5, "Value_B": 2.25}, {"0": 3.75}),
    lambda: simple("DF_Multiply", {"Value_A": 1.5, "Value_B": 2.0}, {"0": 3.0}),
    lambda: simple("DF_Get_image_size", {}, {"0": 48, "1": 32}, constants={"image": IMG}),
    lambda: simple("DF_String_Replace", {"Text": "a-b-c", "Pattern": "-", "Replace_With": "+", "Mode": "Strict"},
                   {"0": "a+b+c"}),
    lambda: versus("DF_Image_scale_by_ratio", {"class_type": "DF_Image_scale_by_ratio", "inputs": {
        "image": ["c_image", 0], "upscale_by": 2.0, "upscale_method": "bilinear", "crop": "disabled"}},
        {"class_type": "ImageScaleBy", "inputs": {"image": ["c_image", 0], "upscale_method": "bilinear",
                                                  "scale_by": 2.0}}, constants={"image": IMG}),
]


def _rgthree_lora() -> Case:
    inputs: dict[str, object] = {"model": ["ckpt", 0], "clip": ["ckpt", 1]}
    for i in (1, 2, 3, 4):
        inputs.update({f"lora_0{i}": "style.safetensors" if i == 1 else "None", f"strength_0{i}": 0.8})
    return lora_case("Lora Loader Stack (rgthree)", {"class_type": "Lora Loader Stack (rgthree)", "inputs": inputs},
                     ["pack", 0], ["pack", 1])


RGTHREE: list[Callable[[], Case]] = [
    lambda: simple("Seed (rgthree)", {"seed": 42}, {"0": 42}),
    lambda: simple("Any Switch (rgthree)", {}, {"0": "x"}, constants={"any_02": "x"}),
    lambda: simple("Image or Latent Size (rgthree)", {}, {"0": 48, "1": 32}, constants={"input": IMG}),
    lambda: simple("SDXL Empty Latent Image (rgthree)", {"dimensions": "1024 x 1024  (square)", "clip_scale": 2.0,
                                                         "batch_size": 1},
                   {"0": torch.zeros(1, 4, 128, 128), "1": 2048, "2": 2048}),
    _rgthree_lora,
]


def _any_list_to_string() -> Case:
    prompt = {"split": {"class_type": "Split String by Commas", "inputs": {"string": "a, b,c", "split": ","}},
              "pack": {"class_type": "Any List to String", "inputs": {"anything": ["split", 5], "join": "+"}}}
    return Case("Any List to String", prompt, {"0": ["pack", 0]}, lambda c: equal(c["0"], "a+b+c"))


def _batch_round_trip() -> Case:
    batch = torch.cat([IMG, IMG2])
    prompt = {"c_images": const(batch),
              "list": {"class_type": "Image List From Batch", "inputs": {"images": ["c_images", 0]}},
              "pack": {"class_type": "Batch from Image List", "inputs": {"images": ["list", 0]}}}
    return Case("Batch from Image List", prompt, {"0": ["pack", 0]}, lambda c: equal(c["0"], batch))


CG_IMAGE_FILTER: list[Callable[[], Case]] = [
    lambda: simple("String to Int", {"string": " 42 ", "default": 0}, {"0": 42}),
    lambda: simple("cg_String to Float", {"string": "2.5", "default": 0.0}, {"0": 2.5}),
    lambda: simple("Split String by Commas", {"string": "a, b,c", "split": ","},
                   {"0": "a", "1": "b", "2": "c", "3": "", "4": ""}),
    _any_list_to_string,
    _batch_round_trip,
]


def _impact_sampler() -> Case:
    case = _ksampler_twin("ImpactKSamplerBasicPipe", {**{k: v for k, v in SAMPLING.items()}, "basic_pipe": ["pipe", 0],
                                                      "latent_image": ["empty", 0]}, tol=1e-4)
    case.prompt["pipe"] = {"class_type": "ToBasicPipe", "inputs": {"model": ["ckpt", 0], "clip": ["ckpt", 1],
                                                                  "vae": ["ckpt", 2], "positive": ["pos", 0],
                                                                  "negative": ["neg", 0]}}
    return case


IMPACT: list[Callable[[], Case]] = [
    lambda: simple("SubtractMask", {}, {"0": torch.clamp(MASK - MASK2, 0, 1)}, constants={"mask1": MASK,
                                                                                          "mask2": MASK2}),
    lambda: simple("BitwiseAndMask", {}, {"0": MASK * MASK2}, constants={"mask1": MASK, "mask2": MASK2}),
    lambda: simple("ToBinaryMask", {"threshold": 128}, {"0": (SOFT_MASK > 128 / 255).float()},
                   constants={"mask": SOFT_MASK}),
    lambda: simple("ImpactCompare", {"cmp": "a > b"}, {"0": True}, constants={"a": 3, "b": 2}),
    lambda: simple("ImpactStringSelector", {"strings": "a\nb\nc", "multiline": False, "select": 1}, {"0": "b"}),
    _impact_sampler,
]

CASES: dict[str, list[Callable[[], Case]]] = {
    "ComfyUI_essentials": ESSENTIALS, "ComfyUI-KJNodes": KJNODES, "was-node-suite-comfyui": WAS,
    "ComfyUI_Comfyroll_CustomNodes": COMFYROLL, "Derfuu_ComfyUI_ModdedNodes": DERFUU, "rgthree-comfy": RGTHREE,
    "cg-image-filter": CG_IMAGE_FILTER, "ComfyUI-Impact-Pack": IMPACT,
}

"""Live previews of the denoised latent while sampling: ComfyUI's latent-to-RGB projection (the model family's
factors, one RGB row per latent channel: 4 for SD, 16 for Flux and SD3), or TAESD (a tiny decoder) when
``models/vae_approx`` holds the family's decoder (``taesd_decoder.*`` SD1/SD2, ``taesdxl_decoder.*``,
``taef1_decoder.*`` Flux, ``taesd3_decoder.*`` SD3)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

log = logging.getLogger(__name__)

LATENT_RGB = {  # rows: latent channels; columns: R, G, B (ComfyUI's factors); bias
    "sd": ([[0.3512, 0.2297, 0.3227], [0.3250, 0.4974, 0.2350], [-0.2829, 0.1762, 0.2721],
            [-0.2120, -0.2616, -0.7177]], None),
    "sdxl": ([[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068], [0.1076, 0.1111, -0.0362],
              [-0.3165, -0.2492, -0.2188]], [0.1084, -0.0175, -0.0011]),
}
Previewer = Callable[[torch.Tensor], Any]


def _to_image(rgb: torch.Tensor) -> Any:
    """[-1, 1] RGB, channels last → an 8-bit PIL image (truncated, as ComfyUI)."""
    from PIL import Image

    return Image.fromarray((((rgb + 1) / 2).clamp(0, 1) * 255).to(torch.uint8).cpu().numpy())


def latent_rgb(x0: torch.Tensor, kind: str, latent_format: Any = None) -> Any:
    """The latent-to-RGB preview; ``latent_format`` (``families.base.LatentFormat``) gives the factors when it
    has them for this many channels, else SD's or SDXL's by ``kind``."""
    if x0.ndim == 5:  # a video latent: its first frame
        x0 = x0[:, :, 0]
    factors, bias = LATENT_RGB["sdxl" if kind == "sdxl" else "sd"]
    rows = getattr(latent_format, "rgb_factors", None)
    if rows is not None and len(rows) == x0.shape[1]:
        factors, bias = [list(row) for row in rows], getattr(latent_format, "rgb_bias", None)
    if len(factors) != x0.shape[1]:  # a latent with channels nothing describes: grey from their mean
        factors = [[1.0 / x0.shape[1]] * 3] * x0.shape[1]
        bias = None
    weight = torch.tensor(factors, dtype=torch.float32)
    return _to_image(F.linear(x0[0].float().cpu().movedim(0, -1), weight.t(),
                              torch.tensor(bias, dtype=torch.float32) if bias is not None else None))


def _taesd_file(ctx: Any, prefix: str) -> Any:
    for name in ctx.folders.model_files("vae_approx"):
        if name.rsplit("/", 1)[-1].startswith(prefix):
            return ctx.folders.model_path("vae_approx", name)
    return None


def load_taesd(path: Any) -> Any:
    """A TAESD decoder file (bare Sequential keys ``1.weight`` …) as diffusers' AutoencoderTiny."""
    from diffusers import AutoencoderTiny

    from .state_dict import read_state_dict

    state, _ = read_state_dict(path)
    mapped = {}
    for key, value in state.items():
        index, _, rest = key.partition(".")
        mapped[f"decoder.layers.{int(index) - 1}.{rest}" if index.isdigit() else key] = value
    first = next((v for k, v in mapped.items() if k == "decoder.layers.0.weight"), None)
    channels = int(first.shape[1]) if first is not None and first.ndim == 4 else 4
    model = AutoencoderTiny(latent_channels=channels)
    missing = [k for k in model.state_dict() if k.startswith("decoder.") and k not in mapped]
    if missing:
        raise ValueError(f"{path.name} is not a TAESD decoder ({len(missing)} weights missing)")
    model.load_state_dict(mapped, strict=False)
    return model.eval().requires_grad_(False)


def previewer(ctx: Any, kind: str, method: str, latent_format: Any = None) -> Previewer | None:
    """The preview function for a prompt's ``preview_method`` (none, auto, latent2rgb, taesd)."""
    if method in ("none", "", None):
        return None
    if method == "taesd" and getattr(latent_format, "dims", 2) == 3:
        log.warning("no TAESD decoder for video latents; previews use latent2rgb")
    elif method == "taesd":
        prefix = getattr(latent_format, "taesd_decoder", None) or ("taesdxl_decoder" if kind == "sdxl"
                                                                    else "taesd_decoder")
        path = _taesd_file(ctx, prefix)
        if path is None:
            log.warning("no %s file in models/vae_approx; previews use latent2rgb", prefix)
        else:
            key = ("taesd", str(path), path.stat().st_mtime_ns)
            ctx.models.get(key, lambda: load_taesd(path))

            def decode(x0: torch.Tensor) -> Any:
                with ctx.models.use(key) as (taesd,), torch.inference_mode():
                    device = next(taesd.parameters()).device
                    out = taesd.decode(x0[:1].to(device, next(taesd.parameters()).dtype)).sample
                return _to_image(out[0].float().movedim(0, -1))

            return decode
    return lambda x0: latent_rgb(x0, kind, latent_format)

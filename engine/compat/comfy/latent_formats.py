"""``comfy.latent_formats`` for ComfyUI packs: ComfyUI's latent-format classes over Inkgraph's.

Each model family declares its latent format once (``families.base.LatentFormat``: channels, the VAE's scale
and shift, the preview factors); the classes here present those under ComfyUI's names and attributes
(``scale_factor``, ``latent_channels``, ``latent_dimensions``, ``latent_rgb_factors``,
``latent_rgb_factors_bias``, ``taesd_decoder_name``, ``process_in`` / ``process_out``), so
``isinstance(model.model.latent_format, comfy.latent_formats.SDXL)`` and ``SD15().latent_rgb_factors`` work
as in ComfyUI. Formats of families Inkgraph does not load (video, audio, 3D) are stand-ins.
"""

from __future__ import annotations

from typing import Any

from ..stubs import comfy_attribute


def _family_format(module: str, name: str) -> Any:
    from importlib import import_module

    return getattr(import_module(f"inkgraph.nodes.diffusion.families.{module}"), name)


class LatentFormat:
    """ComfyUI's base class; a subclass sets ``_source`` to the family format it presents."""

    scale_factor = 1.0
    shift_factor = 0.0
    latent_channels = 4
    latent_dimensions = 2
    latent_rgb_factors: list[list[float]] | None = None
    latent_rgb_factors_bias: list[float] | None = None
    latent_rgb_factors_reshape = None
    taesd_decoder_name: str | None = None
    _source: tuple[str, str] | None = None

    def __init__(self) -> None:
        if self._source is not None:
            self._take(_family_format(*self._source))

    def _take(self, fmt: Any) -> None:
        self.scale_factor = float(fmt.scale_factor)
        self.shift_factor = float(fmt.shift_factor)
        self.latent_channels = int(fmt.channels)
        self.latent_rgb_factors = [list(row) for row in fmt.rgb_factors] if fmt.rgb_factors else None
        self.latent_rgb_factors_bias = list(fmt.rgb_bias) if fmt.rgb_bias else None
        self.taesd_decoder_name = fmt.taesd_decoder
        self.spacial_downscale_ratio = int(fmt.downscale)

    def process_in(self, latent: Any) -> Any:
        """VAE latents → the model's space."""
        return (latent - self.shift_factor) * self.scale_factor

    def process_out(self, latent: Any) -> Any:
        """The model's space → VAE latents."""
        return (latent / self.scale_factor) + self.shift_factor

    def inkgraph_format(self) -> Any:
        """This format as Inkgraph's ``families.base.LatentFormat`` (for a pack's own subclass too)."""
        from inkgraph.nodes.diffusion.families.base import LatentFormat as Native

        factors = self.latent_rgb_factors
        rgb = tuple(tuple(float(v) for v in row) for row in factors) if factors else None
        bias = tuple(float(v) for v in self.latent_rgb_factors_bias) if self.latent_rgb_factors_bias else None
        return Native(self.latent_channels, float(self.scale_factor), float(self.shift_factor),
                      int(getattr(self, "spacial_downscale_ratio", 8)), rgb, bias,
                      self.taesd_decoder_name)


class SD15(LatentFormat):
    _source = ("sd", "SD_LATENT")

    def __init__(self, scale_factor: float = 0.18215) -> None:
        super().__init__()
        self.scale_factor = scale_factor


class SDXL(LatentFormat):
    _source = ("sd", "SDXL_LATENT")


class SD3(LatentFormat):
    latent_channels = 16
    _source = ("sd3", "SD3_LATENT")


class Flux(SD3):
    _source = ("flux", "FLUX_LATENT")


_BY_FORMAT = (SD15, SDXL, SD3, Flux)


def from_inkgraph(fmt: Any) -> LatentFormat:
    """ComfyUI's latent format object for a family's format: the named class when it is one of them, else a
    plain ``LatentFormat`` carrying the same values."""
    for cls in _BY_FORMAT:
        source = cls._source
        if source is not None and _family_format(*source) == fmt:
            return cls()
    out = LatentFormat()
    out._take(fmt)
    return out


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.latent_formats", name)

"""Stable Diffusion's CLIPLoader types: ``stable_diffusion`` (one encoder: CLIP-L → SD1, OpenCLIP-H → SD2,
bigG → the SDXL refiner; an SD checkpoint's own encoders: SD1, SD2, SDXL) and ``sdxl`` (CLIP-L + bigG).

The readings are SD's (``text.py``): the same code encodes a checkpoint's CLIP and encoders loaded by
CLIPLoader/DualCLIPLoader, so both give the same CONDITIONING.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import EncodeRequest, PromptRecipe

# the encoders present → the SD reading (text.encoder_specs) and their order
MODES: dict[frozenset[str], tuple[str, tuple[str, ...]]] = {
    frozenset({"clip_l"}): ("sd1", ("clip_l",)),
    frozenset({"clip_h"}): ("sd2", ("clip_h",)),
    frozenset({"clip_g"}): ("sdxl_refiner", ("clip_g",)),
    frozenset({"clip_l", "clip_g"}): ("sdxl", ("clip_l", "clip_g")),
}


def mode(slots: list[str] | set[str] | tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    found = MODES.get(frozenset(slots))
    if found is None:
        raise ValueError(f"Stable Diffusion takes CLIP-L, OpenCLIP-H, bigG or CLIP-L + bigG; found "
                         f"{', '.join(sorted(slots)) or 'no text encoder'}")
    return found


class StableDiffusion(PromptRecipe):
    name = "stable_diffusion"
    slots: ClassVar[tuple[str, ...]] = ("clip_l", "clip_h", "clip_g")

    def check(self, slots: list[str], source: str = "") -> None:
        super().check(slots, source)
        try:
            mode(slots)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}" if source else str(exc)) from None

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        return self.encode_texts(encoders, {slot: text for slot in encoders}, layer, context)

    def encode_texts(self, encoders: dict[str, Any], texts: dict[str, str], layer: int | None,
                     context: EncodeRequest) -> list[list[Any]]:
        """``context.options["pad_chunks"]``: CLIPTextEncodeSDXL's rule (the encoder with fewer chunks gets
        empty ones) instead of cutting the longer output."""
        from ..text import encode_texts

        kind, order = mode(list(encoders))
        return encode_texts([encoders[slot] for slot in order], kind, layer, [texts.get(slot, "") for slot in order],
                            context.folders, context.warnings, bool(context.options.get("pad_chunks", False)))


class SDXL(StableDiffusion):
    name = "sdxl"
    slots = ("clip_l", "clip_g")
    required = ("clip_l", "clip_g")

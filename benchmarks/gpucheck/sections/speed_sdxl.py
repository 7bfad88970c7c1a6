"""SDXL at 1024² through Inkgraph and through a plain diffusers pipeline on the same weights (see speed.py)."""

from __future__ import annotations

from ..context import SectionContext
from ..speed import run_model


def run(ctx: SectionContext) -> None:
    run_model(ctx, "sdxl")

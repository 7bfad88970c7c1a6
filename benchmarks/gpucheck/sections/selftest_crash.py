"""Supervisor self-test: the worker process dies (the supervisor must report it and start a fresh one)."""

from __future__ import annotations

import os

from ..context import SectionContext


def run(ctx: SectionContext) -> None:
    ctx.check("recorded before the crash", True)
    os._exit(3)

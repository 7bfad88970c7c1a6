"""Supervisor self-test: overruns any budget (the supervisor must cut it and run the next section)."""

from __future__ import annotations

import time

from ..context import SectionContext


def run(ctx: SectionContext) -> None:
    ctx.check("recorded before the cut", True)
    time.sleep(3600)

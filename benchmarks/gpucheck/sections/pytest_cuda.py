"""The tests marked ``cuda`` (tests/cuda/), run by pytest on this machine in a child process.

They hold the GPU paths that must never regress, in a form CI collects too (and skips without a GPU, by
the conftest hook). Each test case becomes a check; a skipped one is recorded with its reason. pytest
runs with a timeout inside this section's budget, so the supervisor never has to kill it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from ..context import SectionContext
from ..fixtures import REPO


def run(ctx: SectionContext) -> None:
    report = ctx.work / "cuda-tests.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", f"--junitxml={report}",
               "tests/cuda"]
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=max(5.0, ctx.remaining() - 5))
    except subprocess.TimeoutExpired as exc:
        ctx.check("pytest finished within the section's budget", False, detail=str(exc)[:200])
        return
    print(done.stdout[-20000:], done.stderr[-5000:], sep="\n", flush=True)
    if not report.is_file():
        ctx.check("pytest ran and wrote its report", False, done.returncode, detail=done.stdout[-300:])
        return
    suite = ElementTree.parse(report).getroot()
    cases = list(suite.iter("testcase"))
    ctx.check("pytest collected the cuda tests", bool(cases), len(cases))
    for case in cases:
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if failed is not None:
            ctx.check(name, False, "failed", detail=(failed.get("message") or "")[:200])
        elif skipped is not None:
            ctx.check(name, None, "skipped", detail=(skipped.get("message") or "")[:200])
        else:
            ctx.check(name, True, f"{float(case.get('time', 0)):.2f} s")

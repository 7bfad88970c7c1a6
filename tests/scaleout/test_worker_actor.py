"""The worker class itself, without Ray: what its stream yields, files travelling both ways, a prompt
cancelled before it began, and the clean-up of folders that crashed workers left behind."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from inkgraph.engine.scaleout.actor import InkgraphWorker, WorkerSettings
from inkgraph.engine.scaleout.jobs import Finished, Job


def drain(worker: InkgraphWorker, job: Job) -> tuple[list[Any], Finished]:
    events: list[Any] = []
    finished = None
    for kind, payload in worker.run(job):
        if kind == "events":
            events.extend(payload)
        else:
            finished = payload
    assert finished is not None
    return events, finished


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_run_streams_events_and_returns_files_with_executed(tmp_path: Path) -> None:
    worker = InkgraphWorker("wtest", WorkerSettings(models_dir=str(tmp_path / "models")))
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "earlier_00001_.png [output]"}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "w"}}}
    job = Job("p1", prompt, {}, "client", ["2"], {("output", "earlier_00001_.png"): png((1, 2, 3))})
    events, finished = drain(worker, job)
    types = [event.type for event, _, _ in events]
    assert types[0] == "execution_start" and types[-1] == "execution_success"
    assert all(target == "client" for _, target, _ in events)
    ((_, _, files),) = [(e, t, f) for e, t, f in events if e.type == "executed"]
    assert list(files) == [("output", "", "w_00001_.png")]
    with Image.open(io.BytesIO(files[("output", "", "w_00001_.png")])) as image:
        assert image.getpixel((0, 0)) == (1, 2, 3)
    assert finished.status["status_str"] == "success"
    assert finished.outputs["2"]["images"][0]["filename"] == "w_00001_.png"


def test_a_prompt_interrupted_before_it_began_does_not_run(tmp_path: Path) -> None:
    worker = InkgraphWorker("wtest", WorkerSettings())
    assert worker.interrupt("p2") is True  # dispatched here, not started yet
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "never"}}}
    events, finished = drain(worker, Job("p2", prompt, {}, None, []))
    assert [event.type for event, _, _ in events] == ["execution_interrupted"]
    assert finished.status["status_str"] == "error"
    assert not list((worker.base / "output").glob("never*"))
    _, again = drain(worker, Job("p3", prompt, {}, None, []))  # the cancel was for that prompt only
    assert again.status["status_str"] == "success"


def test_folders_of_crashed_workers_are_removed_at_start() -> None:
    stale = Path(tempfile.gettempdir()) / "inkgraph-wclean-999999999"
    stale.mkdir(exist_ok=True)
    alive = Path(tempfile.gettempdir()) / f"inkgraph-wclean-{os.getppid()}"
    alive.mkdir(exist_ok=True)
    try:
        worker = InkgraphWorker("wclean", WorkerSettings())
        assert not stale.exists() and alive.exists()
        assert worker.base.name == f"inkgraph-wclean-{os.getpid()}"
    finally:
        for folder in (alive, Path(tempfile.gettempdir()) / f"inkgraph-wclean-{os.getpid()}"):
            shutil.rmtree(folder, ignore_errors=True)

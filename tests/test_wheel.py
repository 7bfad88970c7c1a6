"""The wheel works away from the checkout: built here, installed into a fresh virtual environment, and run
from a folder that is not the repository (the canvas is served, the example workflows are found by name,
the embedded demo model is listed and makes a picture).

The fresh environment gets Inkgraph's dependencies from this one (a path entry, so nothing is downloaded)
but none of its files: only the wheel's ``inkgraph`` package can answer ``import inkgraph``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _source_tree(target: Path) -> Path:
    """The checkout's files as git sees them (tracked and not ignored), links kept: the wheel is built from
    what a clean checkout holds, never from a stale build/ folder or untracked leftovers."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=False)
    if listed.returncode != 0:  # not a git checkout (an sdist): build from it as it is
        return REPO
    for name in filter(None, listed.stdout.decode().split("\0")):
        source, destination = REPO / name, target / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            destination.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, destination)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel; returns its bin/ folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = _source_tree(work / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(work / "dist"), str(source)], check=True, timeout=300, cwd=work)
    (wheel,) = (work / "dist").glob("inkgraph-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # dependencies from this environment, after the venv's own site-packages (which will hold the wheel)
    (Path(site) / "inkgraph_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, timeout=300, cwd=work)
    return venv / "bin"


def _run(bin_dir: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def test_only_the_distribution_package_is_installed(installed: Path, tmp_path: Path) -> None:
    out = _run(installed, installed / "python", "-c",
               "import importlib.util, inkgraph, inkgraph.engine, inkgraph.nodes; "
               "print(inkgraph.__file__); "
               "print(importlib.util.find_spec('engine'), importlib.util.find_spec('nodes'))", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    location, generic = out.stdout.splitlines()
    assert Path(location).is_relative_to(installed.parent), location
    assert generic == "None None"  # no top-level `engine` or `nodes` in site-packages


def test_the_default_workflow_runs_by_name(installed: Path, tmp_path: Path) -> None:
    out = _run(installed, installed / "inkgraph", "run", "txt2img", "--base-dir", tmp_path / "base",
               "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (picture,) = [Path(line) for line in out.stdout.splitlines() if line.endswith(".png")]
    assert picture.is_file() and picture.is_relative_to(tmp_path / "base" / "output")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_with_the_canvas_and_the_demo_model(installed: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([str(installed / "inkgraph"), "serve", "--port", str(port), "--base-dir",
                               str(tmp_path / "base")], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"{base}/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "<html" in page.lower() and "litegraph" in page.lower()
        info = json.load(urllib.request.urlopen(f"{base}/object_info/CheckpointLoaderSimple", timeout=30))
        assert "inkgraph-demo.safetensors" in info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
        default = json.load(urllib.request.urlopen(f"{base}/workflow/default", timeout=30))
        assert default["nodes"], "the default workflow ships with the package"
    finally:
        server.terminate()
        server.wait(timeout=30)

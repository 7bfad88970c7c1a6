#!/usr/bin/env bash
# Wheels of the Python packages Inkgraph needs that the device tool's GPU image lacks (diffusers, pydantic,
# spandrel, torchsde and what they need beyond that image; a recent setuptools for the editable install),
# for that image's python3 (CPython 3.12, x86-64), into .whl/ at the repository root — ignored by git, and
# named in the device call's `carry`. Run once where pip reaches PyPI. Versions are those of the Python
# that runs this script (default: .venv/bin/python), so the GPU runs what the tests ran here.
#
#   benchmarks/gpu_check_wheels.sh            # then: run(command=<gpu_check.py's docstring>, carry=[".whl"])
#   PYVER=3.11 benchmarks/gpu_check_wheels.sh  # wheels for a stand-in of the image on a Python 3.11 machine
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
packages=(diffusers pydantic pydantic-core annotated-types typing-inspection typing-extensions spandrel torchsde
          trampoline setuptools)
pins=()
for name in "${packages[@]}"; do
    pins+=("$name==$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")")
done
rm -rf .whl && mkdir .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${pins[@]}"
ls -1 .whl
du -sh .whl

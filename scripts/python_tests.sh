#!/usr/bin/env bash
# The Python package's tests with TransformerLens, which CI skips (it has no
# torch): builds and installs the package (`pip install ./python`) into a
# virtual environment that has torch and transformer_lens, installing them
# from PyPI first when it lacks them, then runs every test of python/tests.
#   usage: scripts/python_tests.sh [VENV] [TRANSFORMER_LENS_VERSION]
#   e.g.   scripts/python_tests.sh ~/tl3 3.9.0
#          scripts/python_tests.sh ~/tl4 4.3.0
# (default: target/tl-venv with TransformerLens 3.9.0; needs a Rust toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-target/tl-venv}
version=${2:-3.9.0}
pip() { "$venv/bin/pip" --disable-pip-version-check "$@"; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c "import torch, transformer_lens" 2>/dev/null; then
  pip install --quiet torch "transformer_lens==$version"
fi
pip install --quiet pytest numpy
pip install --quiet --force-reinstall --no-deps ./python
"$venv/bin/python" -c "import importlib.metadata as m; print('transformer_lens', m.version('transformer_lens'), 'torch', m.version('torch'))"
"$venv/bin/python" -m pytest python/tests -v

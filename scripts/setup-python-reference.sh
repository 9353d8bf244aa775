#!/usr/bin/env bash
# The Python reference the bench measures turnkit against (bench/python/): librosa (with soundfile and soxr, its
# defaults), pyarrow and PyTorch for CPU, in .venv-reference/ (ignored by git). pip reads the machine's package
# indexes (PIP_INDEX_URL / pip.conf); pass extra pip options as arguments, e.g. --index-url file:///opt/pypi/simple.
# Then `npm run bench` runs the reference beside turnkit and writes the ratios into bench/results/latest.json.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-reference
.venv-reference/bin/pip install --quiet "$@" 'librosa==0.11.*' 'soundfile==0.14.*' 'soxr==1.1.*' 'pyarrow==25.*' 'numpy==2.4.*' 'torch==2.13.*'
.venv-reference/bin/python -c "import librosa, pyarrow, torch; print('reference:', 'librosa', librosa.__version__, 'pyarrow', pyarrow.__version__, 'torch', torch.__version__)"

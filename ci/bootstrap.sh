#!/usr/bin/env bash
# Everything the harness needs, from nothing: Debian packages (QEMU 10, rustc-web, binutils)
# and a virtualenv with the Python package and its test tools. Idempotent and quick when done.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/ci/install-host-deps.sh"
py=${PYTHON:-python3}
if [ ! -x "$here/.venv/bin/python" ]; then
    "$py" -m venv "$here/.venv"
fi
stamp="$here/.venv/.axharness-installed"
if [ ! -e "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    "$here/.venv/bin/pip" install -q --upgrade pip
    "$here/.venv/bin/pip" install -q -e "${here}[test,dev]"
    touch "$stamp"
fi

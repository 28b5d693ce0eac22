#!/usr/bin/env bash
# The project's tests: set-up, lint, type check, then unit, integration and conformance tests
# (real QEMU, real axvisor images built into ~/.cache/axharness on first use).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/ci/bootstrap.sh"
cd "$here"
.venv/bin/ruff check harness tests bench
.venv/bin/mypy --strict harness
# Build every image first, once, so parallel workers do not wait on each other's builds.
.venv/bin/axharness images build
exec .venv/bin/pytest -n "${AXH_JOBS:-2}" -p no:cacheprovider --junitxml=results/pytest-junit.xml "$@" tests

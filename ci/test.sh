#!/usr/bin/env bash
# The project's tests: set-up, lint, type check, then unit, integration and conformance tests
# (real QEMU, real axvisor images built into ~/.cache/axharness on first use).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/ci/bootstrap.sh"
cd "$here"
.venv/bin/ruff check harness tests bench
.venv/bin/mypy --strict harness
# The workflow and the shell scripts. actionlint is a Go program: built once into the venv from
# the Go module proxy (pinned); it also runs shellcheck on the workflow's `run:` scripts.
actionlint_version=v1.7.12
if [ "$(.venv/bin/actionlint -version 2>/dev/null | head -n 1)" != "$actionlint_version" ]; then
    go=$(command -v go || echo /usr/local/go/bin/go)
    if [ ! -x "$go" ]; then
        echo "ci/test.sh: actionlint $actionlint_version is built with Go, and there is no go" >&2
        exit 3
    fi
    GOBIN="$here/.venv/bin" "$go" install \
        "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
fi
.venv/bin/actionlint
shellcheck ci/*.sh .ci/run
# Build every image first, once, so parallel workers do not wait on each other's builds.
.venv/bin/axharness images build
# pytest's cache (what --lf / --ff read) lives outside the checkout, one per checkout, so
# `ci/test.sh --lf` re-runs the last run's failures without writing .pytest_cache into the tree;
# case artifacts go under pytest's basetemp unless --results DIR is passed.
checkout_id=$(printf %s "$here" | cksum | cut -d' ' -f1)
pytest_cache=${AXH_PYTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/axharness-pytest/$checkout_id}
pytest_args=(-n "${AXH_JOBS:-2}" -o "cache_dir=$pytest_cache" --junitxml=results/pytest-junit.xml)
exec .venv/bin/pytest "${pytest_args[@]}" "$@" tests

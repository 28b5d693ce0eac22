#!/usr/bin/env bash
# The main job: set-up, then the conformance suite on every architecture this host can run.
# Results: results/results.json, results/junit.xml, results/cases/<arch>/<scenario>/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/ci/bootstrap.sh"
cd "$here"
exec .venv/bin/axharness run --results results/conformance --force "$@"

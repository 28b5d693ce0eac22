#!/usr/bin/env bash
# The nightly job (.github/workflows/nightly.yml runs exactly this in each matrix job): set-up,
# images, the suite into results/nightly/, and a comparison with the previous night's results.
#
#   ci/nightly.sh [PREVIOUS_RESULTS.json]
#   ci/nightly.sh --image-keys    set-up, then one line per image of AXH_ARCH: "recipe key", the
#                                 content key of its cache entry (recipe and the files it names,
#                                 toolchain, binutils, builder version), without building
#
# Environment: AXH_ARCH  space-separated architectures (default: every one with a recipe)
#              AXH_JOBS  cases in parallel (default: number of CPUs)
# Writes results/nightly/{results.json,junit.xml,report.md,report.html,cases/,run.log,summary.md}
# and, with a previous file, results/nightly/compare.json.
# Exit code: the suite's (0 ok, 2 failures, 3 infrastructure); when the suite passes, the
# comparison's (2 on a regression: pass → xfail or a case gone; 1 if PREVIOUS is unreadable).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --image-keys ]; then
    bash "$here/ci/bootstrap.sh" >&2
    cd "$here"
    exec .venv/bin/python - <<'PY'
import os

from harness.images.build import cache_key
from harness.images.recipe import find_recipes, load_recipe
from harness.images.toolchain import detect
from harness.paths import repo_root

root, toolchain = repo_root(), detect()
arches = os.environ.get("AXH_ARCH", "").split()
for path in find_recipes(root):
    recipe = load_recipe(path, root)
    if not arches or recipe.arch in arches:
        print(recipe.name, cache_key(recipe, toolchain))
PY
fi

previous=${1:-}
if [ -n "$previous" ]; then
    previous=$(realpath -m -- "$previous")  # relative to the caller's directory, not ours
fi
out=results/nightly

bash "$here/ci/bootstrap.sh"
cd "$here"
axh=.venv/bin/axharness

arch_args=()
for a in ${AXH_ARCH:-}; do
    arch_args+=(--arch "$a")
done
jobs_args=()
if [ -n "${AXH_JOBS:-}" ]; then
    jobs_args=(-j "$AXH_JOBS")
fi

# The previous file may be the one this run overwrites (results/nightly/results.json): then
# compare against a copy.
prev_file=""
if [ -n "$previous" ]; then
    if [ ! -f "$previous" ]; then
        echo "nightly: no previous results at $previous; nothing to compare with" >&2
    elif [ "$(realpath "$previous")" = "$(realpath -m "$out/results.json")" ]; then
        prev_file="$out/previous-results.json"
        mkdir -p "$out"
        cp "$previous" "$prev_file"
    else
        prev_file=$previous
    fi
fi

# Images first, on their own: a build failure shows here with its log, and the suite then
# records every case of that image as an infrastructure error instead of stopping.
build_rc=0
"$axh" images build "${arch_args[@]}" || build_rc=$?
if [ "$build_rc" -ne 0 ]; then
    echo "nightly: images build exited $build_rc; running the suite anyway" >&2
fi

mkdir -p "$out"
run_rc=0
"$axh" run --results "$out" --force "${arch_args[@]}" "${jobs_args[@]}" 2>&1 \
    | tee "$out/run.log" || run_rc=${PIPESTATUS[0]}

summary="$out/summary.md"
{
    echo "## axharness nightly${AXH_ARCH:+ ($AXH_ARCH)}"
    echo
    if [ -f "$out/results.json" ]; then
        .venv/bin/python - "$out/results.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
cases = doc["cases"]
verdicts = ["pass", "xfail", "skip", "divergence", "crash", "timeout", "error", "infra"]
print("| arch | " + " | ".join(verdicts) + " |")
print("|---" * (len(verdicts) + 1) + "|")
for arch in sorted({c["arch"] for c in cases}):
    row = [sum(c["arch"] == arch and c["verdict"] == v for c in cases) for v in verdicts]
    print(f"| {arch} | " + " | ".join(str(n) for n in row) + " |")
bad = [c for c in cases if c["verdict"] in verdicts[3:]]
if bad:
    print("\n**Failing cases**\n")
    for c in bad:
        detail = c["detail"].splitlines()[0] if c["detail"] else ""
        print(f"- `{c['case']}` {c['verdict']}: {detail}")
PY
    else
        echo "No results.json: the suite did not get as far as writing one (exit $run_rc)."
    fi
    echo
} > "$summary"

cmp_rc=0
if [ -n "$prev_file" ] && [ -f "$out/results.json" ]; then
    "$axh" compare "$prev_file" "$out/results.json" --json "$out/compare.json" \
        --markdown "$summary" || cmp_rc=$?
else
    echo "No previous results${previous:+ at $previous}: no comparison." >> "$summary"
fi

echo "nightly: images build $build_rc, suite $run_rc, comparison $cmp_rc; summary: $summary" >&2
if [ "$run_rc" -ne 0 ]; then
    exit "$run_rc"
fi
exit "$cmp_rc"

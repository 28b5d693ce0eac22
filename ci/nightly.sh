#!/usr/bin/env bash
# The nightly job (.github/workflows/nightly.yml runs exactly this in each matrix job): set-up,
# images, the suite into results/nightly/, and a comparison with the previous night's results.
#
#   ci/nightly.sh [PREVIOUS_RESULTS.json]
#   ci/nightly.sh --image-keys    set-up, then one line per image of AXH_ARCH (of AXH_SHARD's
#                                 cases only, when set): "recipe key", the content key of its
#                                 cache entry (recipe and the files it names, toolchain,
#                                 binutils, builder version), without building
#   ci/nightly.sh --merge [--previous PREVIOUS_RESULTS.json] SHARD_RESULTS.json...
#                                 merge the shards' results into results/nightly/ (a venv with
#                                 the harness only: no QEMU, no toolchain), then summary and
#                                 comparison as after a whole run
#
# Environment: AXH_ARCH   space-separated architectures (default: every one with a recipe)
#              AXH_JOBS   cases in parallel (default: number of CPUs)
#              AXH_SHARD  K/N: run only the K-th of N parts of the cases (`axharness run
#                         --shard`, weighed by ci/case-durations.json); no comparison, that is
#                         done once the shards are merged
# Writes results/nightly/{results.json,junit.xml,report.md,report.html,cases/,run.log,summary.md}
# and, with a previous file, results/nightly/compare.json.
# Exit code: the suite's (0 ok, 2 failures, 3 infrastructure); when the suite passes, the
# comparison's (2 on a regression: pass → xfail or a case gone; 1 if PREVIOUS is unreadable).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=results/nightly
axh=.venv/bin/axharness
shard_args=()
if [ -n "${AXH_SHARD:-}" ]; then
    shard_args=(--shard "$AXH_SHARD")
fi
arch_args=()
for a in ${AXH_ARCH:-}; do
    arch_args+=(--arch "$a")
done

if [ "${1:-}" = --image-keys ]; then
    bash "$here/ci/bootstrap.sh" >&2
    cd "$here"
    exec .venv/bin/python - "${shard_args[@]}" <<'PY'
import os
import sys
from pathlib import Path

from harness.images.build import cache_key
from harness.images.cache import cache_root
from harness.images.recipe import find_recipes, load_recipe
from harness.images.toolchain import detect
from harness.paths import repo_root
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.run import shard
from harness.run.suite import SuiteOptions, plan_suite

root, toolchain = repo_root(), detect()
arches = os.environ.get("AXH_ARCH", "").split()
if sys.argv[1:]:  # --shard K/N: the images this shard builds (those of its cases it can run)
    opts = SuiteOptions(arches=tuple(arches), pattern="*", results_dir=Path("results/nightly"),
                        cache=cache_root(None), jobs=1, timeout_scale=1.0, keep_artifacts=False)
    part = shard.select(plan_suite(root, opts), shard.parse_shard(sys.argv[2]),
                        shard.durations_for(root, None))[0]
    recipes = [r for r, _ in part if not probe().why_not(get_profile(r.qemu_profile))]
else:  # `axharness images build` builds every image of the architectures
    recipes = [r for r in (load_recipe(p, root) for p in find_recipes(root))
               if not arches or r.arch in arches]
for recipe in recipes:
    print(recipe.name, cache_key(recipe, toolchain))
PY
fi

# summary.md (verdicts per architecture, failing cases) and the comparison with $1, if any,
# for the run or merge in $out; returns the comparison's exit code.
summarize_and_compare() {
    local previous=$1 prev_file="" summary="$out/summary.md" cmp_rc=0
    if [ -n "$previous" ]; then
        if [ ! -f "$previous" ]; then
            echo "nightly: no previous results at $previous; nothing to compare with" >&2
        elif [ "$(realpath "$previous")" = "$(realpath -m "$out/results.json")" ]; then
            prev_file="$out/previous-results.json"  # copied before the run overwrote it
        else
            prev_file=$previous
        fi
    fi
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
if doc.get("parts"):
    print(f"\nMerged from {len(doc['parts'])} shard(s).")
bad = [c for c in cases if c["verdict"] in verdicts[3:]]
if bad:
    print("\n**Failing cases**\n")
    for c in bad:
        detail = c["detail"].splitlines()[0] if c["detail"] else ""
        print(f"- `{c['case']}` {c['verdict']}: {detail}")
PY
        else
            echo "No results.json: the suite did not get as far as writing one."
        fi
        echo
    } > "$summary"
    if [ -n "$prev_file" ] && [ -f "$out/results.json" ]; then
        "$axh" compare "$prev_file" "$out/results.json" --json "$out/compare.json" \
            --markdown "$summary" || cmp_rc=$?
    else
        echo "No previous results${previous:+ at $previous}: no comparison." >> "$summary"
    fi
    return "$cmp_rc"
}

# The previous file may be the one this run overwrites (results/nightly/results.json): keep a
# copy for the comparison.
absolute_previous() {
    local previous=$1
    if [ -n "$previous" ]; then
        previous=$(realpath -m -- "$previous")  # relative to the caller's directory, not ours
        if [ -f "$previous" ] && [ "$previous" = "$(realpath -m "$here/$out/results.json")" ]; then
            mkdir -p "$here/$out"
            cp "$previous" "$here/$out/previous-results.json"
        fi
    fi
    echo "$previous"
}

if [ "${1:-}" = --merge ]; then
    shift
    previous=""
    if [ "${1:-}" = --previous ]; then
        previous=$(absolute_previous "$2")
        shift 2
    fi
    parts=()
    for p in "$@"; do
        parts+=("$(realpath -m -- "$p")")
    done
    cd "$here"
    if [ ! -x "$axh" ]; then  # the harness alone: merging runs no QEMU and builds nothing
        python3 -m venv .venv
        .venv/bin/pip install -q -e .
    fi
    merge_rc=0
    "$axh" merge "$out" "${parts[@]}" || merge_rc=$?
    cmp_rc=0
    if [ -f "$out/results.json" ]; then
        summarize_and_compare "$previous" || cmp_rc=$?
    fi
    echo "nightly: merge $merge_rc, comparison $cmp_rc" >&2
    if [ "$merge_rc" -ne 0 ]; then
        exit "$merge_rc"
    fi
    exit "$cmp_rc"
fi

previous=$(absolute_previous "${1:-}")
bash "$here/ci/bootstrap.sh"
cd "$here"
jobs_args=()
if [ -n "${AXH_JOBS:-}" ]; then
    jobs_args=(-j "$AXH_JOBS")
fi

# Images first, on their own: a build failure shows here with its log, and the suite then
# records every case of that image as an infrastructure error instead of stopping. A shard
# builds the images of its own cases only (the suite builds each image it needs).
build_rc=0
if [ -z "${AXH_SHARD:-}" ]; then
    "$axh" images build "${arch_args[@]}" || build_rc=$?
    if [ "$build_rc" -ne 0 ]; then
        echo "nightly: images build exited $build_rc; running the suite anyway" >&2
    fi
fi

mkdir -p "$out"
run_rc=0
"$axh" run --results "$out" --force "${arch_args[@]}" "${jobs_args[@]}" "${shard_args[@]}" \
    2>&1 | tee "$out/run.log" || run_rc=${PIPESTATUS[0]}

cmp_rc=0
if [ -z "${AXH_SHARD:-}" ]; then
    summarize_and_compare "$previous" || cmp_rc=$?
fi
echo "nightly: images build $build_rc, suite $run_rc, comparison $cmp_rc${AXH_SHARD:+ (shard $AXH_SHARD: compared after the merge)}" >&2
if [ "$run_rc" -ne 0 ]; then
    exit "$run_rc"
fi
exit "$cmp_rc"

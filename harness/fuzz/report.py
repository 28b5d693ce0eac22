"""fuzz.json: a fuzz run's programs, findings, rates and coverage (and persistent-mode counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.fuzz.runner import FuzzReport


def report_to_json(r: FuzzReport) -> dict[str, Any]:
    return {
        "arch": r.arch, "recipe": r.recipe, "axvisor": r.axvisor, "size": r.size,
        "programs": [{"seed": p.seed, "name": p.scenario.name,
                      "actions": len(p.scenario.actions), "exits": p.exits,
                      "verdict": p.case.verdict.value, "detail": p.case.detail,
                      "known": list(p.case.known),
                      "signature": p.signature.to_json() if p.signature else None,
                      "duration_s": round(p.case.duration_s, 3)} for p in r.programs],
        "findings": [{"seed": f.seed, "also_seeds": list(f.also_seeds),
                      "signature": f.signature.to_json(),
                      "first_diff": f.first_diff.describe() if f.first_diff else f.detail,
                      "original_actions": len(f.original.actions),
                      "minimal_actions": len(f.minimal.actions), "tests": f.tests,
                      "reproduced": f.reproduced, "program": str(f.program_file),
                      "command": f.command, "artifacts": str(f.case_dir)}
                     for f in r.findings],
        "run_seconds": round(r.run_seconds, 3), "total_seconds": round(r.total_seconds, 3),
        "programs_per_minute": round(r.per_minute(len(r.programs)), 2),
        "exits": r.exits, "exits_per_minute": round(r.per_minute(r.exits), 2),
        "combinations": [str(c) for c in sorted(r.combos)],
        **({"persistent": r.persist} if r.persist is not None else {}),
        **({"interrupted": r.interrupted} if r.interrupted else {}),
    }


def write_report_json(r: FuzzReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_to_json(r), indent=2) + "\n")

"""Results of a run: results.json (one object per case, plus provenance) and JUnit XML.

A skipped case also gets `host_capability`, the capability this host lacks ("kvm-vmx"), from
the same cached host probe the suite's skip came from: `axharness compare` tells a host that
cannot run an image from a case that stopped running for another reason by it, not by prose.
"""

from __future__ import annotations

import json
import platform
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.check.verdict import Verdict
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult

SCHEMA = "axharness-results/1"


def write_results(cases: Sequence[CaseResult], path: Path, extra: dict[str, Any]) -> None:
    counts = Counter(c.verdict.value for c in cases)
    doc = {
        "schema": SCHEMA,
        "harness": __version__,
        "host": {"machine": platform.machine(), "python": platform.python_version()},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": dict(sorted(counts.items())),
        **extra,
        "cases": [_case_json(c) for c in cases],
    }
    path.write_text(json.dumps(doc, indent=2, default=str))


def _case_json(c: CaseResult) -> dict[str, Any]:
    out = c.to_json()
    profile = c.qemu.get("profile")
    if c.verdict is Verdict.SKIP and isinstance(profile, str):
        lacking = probe().lacking(get_profile(profile))
        if lacking:
            out["host_capability"] = lacking
    return out


def load_results(path: Path) -> dict[str, Any]:
    from harness.errors import UsageError

    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read results {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(
            doc.get("cases"), list):
        raise UsageError(f"{path}: not an axharness results file (schema {SCHEMA})")
    return doc


def write_junit(cases: Sequence[CaseResult], path: Path) -> None:
    suites = ET.Element("testsuites", name="axharness")
    by_arch: dict[str, list[CaseResult]] = {}
    for c in cases:
        by_arch.setdefault(c.arch, []).append(c)
    for arch, items in sorted(by_arch.items()):
        suite = ET.SubElement(suites, "testsuite", name=f"conformance.{arch}",
                              tests=str(len(items)),
                              failures=str(sum(c.verdict is Verdict.DIVERGENCE for c in items)),
                              errors=str(sum(c.verdict in (Verdict.CRASH, Verdict.TIMEOUT,
                                                           Verdict.ERROR, Verdict.INFRA)
                                             for c in items)),
                              skipped=str(sum(c.verdict in (Verdict.SKIP, Verdict.XFAIL)
                                              for c in items)))
        for c in items:
            tc = ET.SubElement(suite, "testcase", classname=f"conformance.{arch}",
                               name=c.scenario, time=f"{c.duration_s:.3f}")
            text = "\n".join([c.detail, *(d.describe() for d in c.diffs),
                              f"artifacts: {c.artifacts}"])
            if c.verdict is Verdict.DIVERGENCE:
                ET.SubElement(tc, "failure", message=c.detail).text = text
            elif c.verdict in (Verdict.CRASH, Verdict.TIMEOUT, Verdict.ERROR, Verdict.INFRA):
                ET.SubElement(tc, "error", message=f"{c.verdict.value}: {c.detail}").text = text
            elif c.verdict is Verdict.SKIP:
                ET.SubElement(tc, "skipped", message=c.detail)
            elif c.verdict is Verdict.XFAIL:
                ET.SubElement(tc, "skipped", type="xfail",
                              message=f"known divergence {', '.join(c.known)}: {c.detail}")
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)

"""Results of a run: results.json (one object per case, plus provenance) and JUnit XML.

A skipped case also gets `host_capability`, the capability this host lacks ("kvm-vmx"), from
the same cached host probe the suite's skip came from: `axharness compare` tells a host that
cannot run an image from a case that stopped running for another reason by it, not by prose.
"""

from __future__ import annotations

import json
import platform
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.check.verdict import Verdict
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.report.cases import console_tail, relative
from harness.report.provenance import git_commit, images_of
from harness.run.case import CaseResult

SCHEMA = "axharness-results/1"
_NOT_XML = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_results(cases: Sequence[CaseResult], path: Path, extra: dict[str, Any]) -> None:
    counts = Counter(c.verdict.value for c in cases)
    doc = {
        "schema": SCHEMA,
        "harness": __version__,
        "commit": git_commit(Path(__file__).resolve().parents[2]),  # what compare names
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


def _suite_properties(cases: Sequence[CaseResult], extra: Mapping[str, Any] | None
                      ) -> tuple[tuple[str, str], ...]:
    """What produced one image's cases: axvisor, image key, vCPU crates, QEMU, accelerator."""
    (image,) = images_of(cases, extra or {})
    return (("harness", __version__), *image.properties())


def _text(value: str) -> str:
    """Text XML 1.0 can carry (a console may hold any byte)."""
    return _NOT_XML.sub("\ufffd", value)


def write_junit(cases: Sequence[CaseResult], path: Path,
                extra: Mapping[str, Any] | None = None) -> None:
    """One <testsuite> per image, named `conformance.<image>`, with its provenance as
    <properties>; test names `<image>/<scenario>` are unique across images. Divergences are
    failures, the other failing verdicts errors, xfail and skip skipped; failures carry the
    console's end in <system-out>. Artifact paths are relative to the JUnit file. `extra`:
    what the suite returned beside the cases (image manifests, for the vCPU crate versions)."""
    suites = ET.Element("testsuites", name="axharness", tests=str(len(cases)),
                        failures=str(sum(c.verdict is Verdict.DIVERGENCE for c in cases)),
                        errors=str(sum(c.verdict.is_failure and c.verdict is not
                                       Verdict.DIVERGENCE for c in cases)),
                        time=f"{sum(c.duration_s for c in cases):.3f}")
    by_image: dict[str, list[CaseResult]] = {}
    for c in cases:
        by_image.setdefault(c.case_id.split("/", 1)[0], []).append(c)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    for image, items in sorted(by_image.items()):
        suite = ET.SubElement(
            suites, "testsuite", name=f"conformance.{image}", tests=str(len(items)),
            failures=str(sum(c.verdict is Verdict.DIVERGENCE for c in items)),
            errors=str(sum(c.verdict.is_failure and c.verdict is not Verdict.DIVERGENCE
                           for c in items)),
            skipped=str(sum(not c.verdict.is_failure and c.verdict is not Verdict.PASS
                            for c in items)),
            time=f"{sum(c.duration_s for c in items):.3f}", timestamp=stamp,
            hostname=_text(platform.node() or "unknown"))
        props = ET.SubElement(suite, "properties")
        for name, value in _suite_properties(items, extra):
            ET.SubElement(props, "property", name=name, value=_text(value))
        for c in items:
            _testcase(suite, c, image, path.parent)
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _testcase(suite: ET.Element, c: CaseResult, image: str, base: Path) -> None:
    tc = ET.SubElement(suite, "testcase", classname=f"conformance.{image}",
                       name=f"{image}/{c.scenario}", time=f"{c.duration_s:.3f}")
    artifacts = relative(Path(c.artifacts), base)
    text = _text("\n".join([c.detail, *(d.describe() for d in c.diffs),
                            f"artifacts: {artifacts}"]))
    message = _text(" ".join(c.detail.split()))
    if c.verdict is Verdict.DIVERGENCE:
        ET.SubElement(tc, "failure", message=message, type="divergence").text = text
    elif c.verdict.is_failure:
        ET.SubElement(tc, "error", message=f"{c.verdict.value}: {message}",
                      type=c.verdict.value).text = text
    elif c.verdict is Verdict.XFAIL:
        ET.SubElement(tc, "skipped", message=_text(
            f"xfail: known divergence {', '.join(c.known)}: {message}; artifacts: {artifacts}"))
    elif c.verdict is not Verdict.PASS:
        ET.SubElement(tc, "skipped", message=f"{c.verdict.value}: {message}")
    if c.verdict.is_failure:
        tail = console_tail(Path(c.artifacts))
        ET.SubElement(tc, "system-out").text = _text(
            f"artifacts: {artifacts}\n" + (f"end of console.log:\n{tail}\n" if tail
                                           else "no console.log\n"))

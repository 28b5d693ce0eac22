"""junit.xml as CI test reporters read it: valid against the JUnit schema (tests/unit/junit.xsd,
checked with xmllint), test names unique across images, each image's provenance as suite
properties, the console's end for failures, artifact paths relative to the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.verdict import Verdict
from harness.report.results import write_junit
from harness.run.case import CaseResult

XSD = Path(__file__).with_name("junit.xsd")


def case(cid: str, verdict: Verdict, artifacts: Path, *, detail: str = "d",
         diffs: tuple[ExitDiff, ...] = ()) -> CaseResult:
    recipe = cid.split("/")[0]
    return CaseResult(case_id=cid, scenario=cid.split("/")[1], arch="x86_64", verdict=verdict,
                      detail=detail, expected=(), observed=(), diffs=diffs, duration_s=1.25,
                      artifacts=artifacts,
                      image={"recipe": recipe, "key": f"key-of-{recipe}", "axvisor": "0.5.8",
                             "axvcpu": "0.5.9", "generation": "G0_2"},
                      qemu={"version": "QEMU emulator version 10.0.2", "accel": "tcg",
                            "cpu": "qemu64,+svm", "profile": "x86_64-svm"})


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    xmllint = shutil.which("xmllint")
    assert xmllint, "xmllint missing: ci/install-host-deps.sh installs libxml2-utils"
    return subprocess.run([xmllint, "--noout", "--schema", str(XSD), str(path)],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def junit(tmp_path: Path) -> ET.Element:
    results = tmp_path / "results"
    crashed = results / "cases" / "x86_64-svm_first-guest"
    crashed.mkdir(parents=True)
    # colours, a NUL and a lone escape byte: none may reach the XML
    (crashed / "console.log").write_bytes(b"boot\n\x1b[31mpanicked at x.rs:1\x1b[0m\x00\x1b\n")
    manifest = tmp_path / "manifest.json"
    crates = {"x86_vcpu": "0.5.1", "axvcpu": "0.5.9", "serde": "1", "arm_vcpu": "0.2.2"}
    manifest.write_text(json.dumps({"resolved": {"crates": crates},
                                    "toolchain": {"rustc_version": "rustc 1.96.0"}}))
    diff = ExitDiff(0, "fields", None, None, 7, (FieldDiff("data", 1, 2),))
    cases = [case("x86_64-svm/first-guest", Verdict.CRASH, crashed, detail="panicked <here>"),
             case("x86_64-vmx/first-guest", Verdict.SKIP, results / "cases" / "v"),
             case("x86_64-svm/div", Verdict.DIVERGENCE, results / "cases" / "d", diffs=(diff,)),
             case("x86_64-svm/known", Verdict.XFAIL, results / "cases" / "k"),
             case("x86_64-svm/ok", Verdict.PASS, results / "cases" / "o")]
    path = results / "junit.xml"
    write_junit(cases, path, {"images": {"x86_64-svm": {"manifest": str(manifest)}}})
    res = validate(path)
    assert res.returncode == 0, res.stderr
    return ET.parse(path).getroot()


def test_the_schema_rejects_what_reporters_reject(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites><testsuite name="s" tests="1"><testcase classname="c">'
                   '<properties><property name="a" value="b"/></properties>'
                   "</testcase></testsuite></testsuites>")
    res = validate(bad)
    assert res.returncode != 0
    assert "'name' is required" in res.stderr and "properties" in res.stderr


def test_test_names_are_unique_across_images_of_one_arch(junit: ET.Element) -> None:
    names = [(tc.get("classname"), tc.get("name")) for tc in junit.iter("testcase")]
    assert ("conformance.x86_64-svm", "x86_64-svm/first-guest") in names
    assert ("conformance.x86_64-vmx", "x86_64-vmx/first-guest") in names
    assert len({n for _, n in names}) == len(names) == 5


def test_each_image_suite_carries_its_provenance(junit: ET.Element) -> None:
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    svm = {p.get("name"): p.get("value") for p in suites["conformance.x86_64-svm"].iter(
        "property")}
    assert svm["axvisor"] == "0.5.8" and svm["image_key"] == "key-of-x86_64-svm"
    assert svm["crate.x86_vcpu"] == "0.5.1" and svm["crate.axvcpu"] == "0.5.9"
    assert "crate.serde" not in svm and "crate.arm_vcpu" not in svm  # not this arch's
    assert svm["qemu"] == "QEMU emulator version 10.0.2" and svm["accelerator"] == "tcg"
    assert svm["toolchain"] == "rustc 1.96.0"
    assert suites["conformance.x86_64-svm"].get("failures") == "1"
    assert suites["conformance.x86_64-svm"].get("errors") == "1"
    assert suites["conformance.x86_64-svm"].get("skipped") == "1"
    vmx = {p.get("name"): p.get("value") for p in suites["conformance.x86_64-vmx"].iter(
        "property")}
    assert vmx["image_key"] == "key-of-x86_64-vmx" and "crate.x86_vcpu" not in vmx


def test_a_failure_carries_the_console_end_and_relative_artifacts(junit: ET.Element) -> None:
    tc = next(t for t in junit.iter("testcase") if t.get("name") == "x86_64-svm/first-guest")
    err = tc.find("error")
    assert err is not None and err.get("message") == "crash: panicked <here>"
    out = tc.findtext("system-out") or ""
    assert "artifacts: cases/x86_64-svm_first-guest" in out
    assert "panicked at x.rs:1" in out and "\x1b" not in out and "[31m" not in out
    div = next(t for t in junit.iter("testcase") if t.get("name") == "x86_64-svm/div")
    assert "artifacts: cases/d" in (div.findtext("failure") or "")
    assert "no console.log" in (div.findtext("system-out") or "")
    ok = next(t for t in junit.iter("testcase") if t.get("name") == "x86_64-svm/ok")
    assert list(ok) == []

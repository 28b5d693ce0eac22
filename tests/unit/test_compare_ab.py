"""`axharness compare` A/B: two images lined up scenario by scenario (of one results file or
one from each), the first exit observed differently field by field, what differs between the
images (patched crates with their patch digest, versions, QEMU, commit), the summary and the
exit code. Results documents are written here in the shape CaseResult.to_json and
write_results produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.report.compare import ChangeKind, Side, compare_sides, kinds_of, parse_results
from harness.report.sides import first_exit_difference, select

PATCH = {"crate": "arm_vcpu", "version": "0.2.2", "how": "patch", "sha256": "a898efd5" * 8,
         "detail": "arm_vcpu-0.2.2-mmio-write-width.patch"}
QEMU = "QEMU emulator version 10.0.2"
WHOLE = 0x1122_3344_5566_7788


def store(data: int, line: int = 435, vcpu: int = 0) -> dict[str, Any]:
    return {"variant": "MmioWrite", "fields": {"addr": 0x0800_0E00, "width": "Byte",
                                               "data": data}, "line": line,
            **({"vcpu": vcpu} if vcpu else {})}


def case(recipe: str, scenario: str, verdict: str, observed: list[dict[str, Any]], *,
         arch: str = "aarch64", modified: tuple[dict[str, str], ...] = (),
         axvm: str = "0.2.3", qemu: str = QEMU, known: tuple[str, ...] = ()
         ) -> dict[str, Any]:
    diffs = [] if verdict == "pass" else [{
        "index": 0, "kind": "fields", "variant": "MmioWrite", "vcpu": 0,
        "text": f"exit #0 MmioWrite (console line 435): data: expected 0x88, observed {WHOLE:#x}",
        "fields": [{"field": "data", "expected": 0x88, "observed": WHOLE}]}]
    return {"case": f"{recipe}/{scenario}", "scenario": scenario, "arch": arch,
            "verdict": verdict, "detail": f"{verdict} detail", "diffs": diffs,
            "observed": observed, "known_divergences": list(known),
            "image": {"recipe": recipe, "key": recipe.encode().hex().ljust(64, "0"),
                      "axvisor": "0.3.0-preview.2",
                      "crates": {"arm_vcpu": "0.2.2", "axvcpu": "0.2.2", "axvm": axvm,
                                 "axvisor": "0.3.0-preview.2"},
                      "modified_crates": list(modified)},
            "qemu": {"version": qemu, "accel": "tcg"}}


def doc(*cases: dict[str, Any], commit: str = "c0ffee" * 6 + "c0ff") -> dict[str, Any]:
    return {"schema": "axharness-results/1", "harness": "0.1.0", "commit": commit,
            "finished_at": "2026-12-01T00:00:00Z", "cases": list(cases)}


STOCK = [case("aarch64", s, "xfail", [store(WHOLE), {"variant": "SystemDown", "fields": {}}],
              known=("a64-mmio-write-data-whole-register",)) for s in ("mmio-store-b", "other")]
FIXED = [case("fix", "mmio-store-b", "pass", [store(0x88), {"variant": "SystemDown",
                                                            "fields": {}}], modified=(PATCH,)),
         case("fix", "other", "xfail", [store(WHOLE)], modified=(PATCH,),
              known=("a64-mmio-write-data-whole-register",))]


def write(tmp_path: Path, name: str, d: dict[str, Any]) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return p


def test_two_images_of_one_run_line_up_by_scenario_and_b_fixes_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "results.json", doc(*STOCK, *FIXED))
    assert main(["compare", str(f), "--image-a", "aarch64", "--image-b", "fix"]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("xfail → pass"))
    assert "mmio-store-b" in row and "xfail" in row and "pass" in row
    assert "A → B: exit #0 MmioWrite: data: 0x1122334455667788 → 0x88" in out
    assert ("arm_vcpu 0.2.2: patched in B (arm_vcpu-0.2.2-mmio-write-width.patch, sha256 "
            "a898efd5a898)") in out
    assert "summary: 1 fixed in B, 0 regressed in B, 0 other change(s), 1 unchanged" in out
    assert "same in both: harness commit c0ffeec0ffee" in out
    assert "same in both: axvisor 0.3.0-preview.2, axvcpu 0.2.2, axvm 0.2.3" in out
    assert "arm_vcpu 0.2.2," not in out.split("same in both:")[1]  # modified: not "the same"


def test_a_regression_in_b_exits_2_and_is_counted(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    worse = case("fix", "mmio-store-b", "divergence", [store(WHOLE)], modified=(PATCH,))
    passing = case("aarch64", "mmio-store-b", "pass", [store(0x88)])
    f = write(tmp_path, "r.json", doc(passing, worse))
    assert main(["compare", str(f), "--image-a", "aarch64", "--image-b", "fix"]) == 2
    out = capsys.readouterr().out
    assert "0 fixed in B, 1 regressed in B" in out and "REGRESSION" in out
    assert "A → B: exit #0 MmioWrite: data: 0x88 → 0x1122334455667788" in out


def test_one_image_from_each_of_two_files(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", doc(*STOCK))
    b = write(tmp_path, "b.json", doc(*FIXED, commit="beef" * 10 + "+dirty"))
    assert main(["compare", str(a), str(b), "--image-a", "aarch64", "--image-b", "fix"]) == 0
    out = capsys.readouterr().out
    assert "harness commit c0ffeec0ffee in A, beefbeefbeef+dirty in B" in out


@pytest.mark.parametrize(("field", "a", "b", "note"), [
    ("axvm", "0.2.3", "0.2.4", "axvm: 0.2.3 in A, 0.2.4 in B"),
    ("qemu", QEMU, "QEMU emulator version 10.1.0", "QEMU 10.0.2 in A, 10.1.0 in B")])
def test_what_differs_between_the_images_is_named(field: str, a: str, b: str, note: str) -> None:
    one = case("x", "s", "pass", [store(0x88)], **{field: a})  # type: ignore[arg-type]
    two = case("y", "s", "pass", [store(0x88)], **{field: b})  # type: ignore[arg-type]
    f = parse_results(doc(one, two), "r.json")
    cmp = compare_sides(select(f, "x", "A"), select(f, "y", "B"))
    ((_, changes, _),) = [p for p in cmp.provenance if p[0] == "x → y"]
    assert note in [c.note for c in changes]


def test_a_crate_patched_on_both_sides_differently_names_both_digests() -> None:
    other = PATCH | {"sha256": "0123" * 16, "detail": "mine.patch"}
    f = parse_results(doc(case("x", "s", "pass", [], modified=(PATCH,)),
                          case("y", "s", "pass", [], modified=(other,))), "r.json")
    cmp = compare_sides(select(f, "x", "A"), select(f, "y", "B"))
    notes = [c.note for c in cmp.provenance[1][1]]
    assert ("arm_vcpu 0.2.2: patched in A (arm_vcpu-0.2.2-mmio-write-width.patch, sha256 "
            "a898efd5a898), patched in B (mine.patch, sha256 012301230123)") in notes


def test_asynchronous_exits_do_not_count_as_the_first_difference() -> None:
    irq = {"variant": "ExternalInterrupt", "fields": {"vector": 0}, "line": 400}
    a = parse_results(doc(case("x", "s", "pass", [irq, store(0x88, line=410)])), "a").cases[0]
    b = parse_results(doc(case("x", "s", "pass", [store(0x88, line=500), irq])), "b").cases[0]
    assert first_exit_difference(a, b) is None
    c = parse_results(doc(case("x", "s", "pass", [irq, store(0x89)])), "c").cases[0]
    delta = first_exit_difference(a, c)
    assert delta is not None and delta.describe() == "exit #0 MmioWrite: data: 0x88 → 0x89"


def test_a_missing_exit_in_b_is_named() -> None:
    a = parse_results(doc(case("x", "s", "pass", [store(1), store(2)])), "a").cases[0]
    b = parse_results(doc(case("x", "s", "pass", [store(1)])), "b").cases[0]
    delta = first_exit_difference(a, b)
    assert delta is not None and delta.describe() == "exit #1 MmioWrite: not observed in B"


def test_structured_diffs_decide_not_their_text() -> None:
    """Same prose, different observed value in the structured diff: a changed divergence;
    different console line in the prose, same structure: unchanged."""
    one = case("x", "s", "divergence", [store(WHOLE)])
    two = json.loads(json.dumps(one))
    two["diffs"][0]["fields"][0]["observed"] = WHOLE + 1
    moved = json.loads(json.dumps(one))
    moved["diffs"][0]["text"] = moved["diffs"][0]["text"].replace("435", "440")
    base = parse_results(doc(one), "a")
    assert kinds_of(compare_sides(Side("old", base), Side("new", parse_results(
        doc(two), "b"))).changes) == {"x/s": ChangeKind.DIVERGENCE}
    assert compare_sides(Side("old", base), Side("new", parse_results(
        doc(moved), "b"))).changes == ()


def test_the_json_output_carries_summary_provenance_and_exit_differences(
        tmp_path: Path) -> None:
    f = write(tmp_path, "r.json", doc(*STOCK, *FIXED))
    out = tmp_path / "ab.json"
    assert main(["compare", str(f), "--image-a", "aarch64", "--image-b", "fix",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["mode"] == "images" and data["summary"] == {
        "fixed": 1, "regressed": 0, "other": 0, "unchanged": 1}
    (change,) = data["changes"]
    assert change["case"] == "mmio-store-b" and change["fix"] is True
    assert change["exit_difference"]["fields"] == [{"field": "data", "a": WHOLE, "b": 0x88}]
    runs, prov = data["provenance"]
    assert runs["images"] == "the runs" and runs["changes"] == []
    assert {"what": "arm_vcpu", "a": "stock"} .items() <= next(
        c for c in prov["changes"] if c["what"] == "arm_vcpu").items()


@pytest.mark.parametrize(("argv", "message"), [
    (["--image-a", "aarch64"], "--image-a and --image-b go together"),
    ([], "name the two images with --image-a and --image-b"),
    (["--image-a", "aarch64", "--image-b", "nope"], "no case of image 'nope' (images: "
     "aarch64, fix, rv)"),
    (["--image-a", "aarch64", "--image-b", "rv"], "compare images of one architecture"),
])
def test_user_mistakes_are_one_line_usage_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    rv = case("rv", "mmio-store-b", "pass", [], arch="riscv64")
    f = write(tmp_path, "r.json", doc(*STOCK, *FIXED, rv))
    assert main(["compare", str(f), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err

"""The reviewed list of variants a vCPU implementation never returns, and how the coverage
report uses it: a note instead of NOT COVERED, never a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.paths import repo_root
from harness.report.coverage import arch_summary, coverage_section
from harness.report.reachability import REACHABILITY_FILE, load_reachability, unreachable_for
from harness.run.case import CaseResult

ENTRY = """
[[unreachable]]
arch = "riscv64"
axvisor = ["0.5.8"]
backend = ""
vcpu = "riscv_vcpu 0.5.9"
variant = "SendIPI"
why = "forwarded to RustSBI"
source = "vcpu.rs:563"
"""


def _case(observed: tuple[str, ...], axvisor: str = "0.5.8") -> CaseResult:
    return CaseResult(case_id="riscv64/s", scenario="s", arch="riscv64", verdict=Verdict.PASS,
                      detail="", expected=(), duration_s=0.0, artifacts=Path("."),
                      observed=tuple({"variant": v, "fields": {}} for v in observed), diffs=(),
                      image={"axvisor": axvisor, "generation": "G0_2", "backend": ""}, qemu={})


def test_the_repository_file_loads_and_names_only_pinned_versions() -> None:
    entries = load_reachability(repo_root() / REACHABILITY_FILE)
    assert {e.arch for e in entries} == {"aarch64", "riscv64", "x86_64"}
    assert all(e.source and e.why for e in entries)


def test_a_variant_the_vcpu_never_returns_is_a_note_not_a_gap(tmp_path: Path) -> None:
    p = tmp_path / "r.toml"
    p.write_text(ENTRY)
    entries = load_reachability(p)
    text = "\n".join(coverage_section([_case(("SystemDown",))], entries))
    row = next(ln for ln in text.splitlines() if ln.startswith("| SendIPI "))
    assert "not returned by riscv_vcpu 0.5.9: forwarded to RustSBI" in row
    assert "NOT COVERED" not in row
    other = next(ln for ln in text.splitlines() if ln.startswith("| Hypercall "))
    assert "NOT COVERED" in other
    summary = "\n".join(arch_summary([_case(("SystemDown",))], entries))
    assert "| SendIPI | impl |" in summary
    # another axvisor version: the entry does not apply
    assert unreachable_for(entries, "riscv64", "0.5.9", "") == {}


def test_an_entry_contradicted_by_a_run_is_flagged_for_review(tmp_path: Path) -> None:
    p = tmp_path / "r.toml"
    p.write_text(ENTRY)
    text = "\n".join(coverage_section([_case(("SendIPI",))], load_reachability(p)))
    assert "produced although listed as never returned" in text


@pytest.mark.parametrize(("change", "message"), [
    (('variant = "SendIPI"', 'variant = "SendIpi"'), "unknown variant"),
    (('backend = ""', 'backend = "svm"'), "backend"),
    (('vcpu = "riscv_vcpu 0.5.9"', 'vcpu = "riscv_vcpu"'), "<crate> <version>"),
    (('why = "forwarded to RustSBI"\n', ''), "missing \\['why'\\]"),
])  # fmt: skip
def test_a_bad_entry_is_named_with_file_and_line(tmp_path: Path, change: tuple[str, str],
                                                 message: str) -> None:
    p = tmp_path / "r.toml"
    p.write_text("# header\n" + ENTRY.replace(*change))
    with pytest.raises(UsageError, match=rf"r\.toml:3: .*{message}"):
        load_reachability(p)


def test_a_matrix_cell_shows_the_exit_its_scenario_is_about() -> None:
    from harness.report.coverage import matrix_section
    from harness.scenarios.catalogue import Scenario

    about_irq = Scenario("s", "riscv64", "x", (), semantic="irq",
                         expect_async=("ExternalInterrupt",))
    case = _case(("MmioWrite", "Nothing", "ExternalInterrupt", "SystemDown"))
    cell = next(ln for ln in matrix_section([case], {"riscv64/s": about_irq})
                if ln.startswith("| irq "))
    assert "`ExternalInterrupt`" in cell
    plain = Scenario("s", "riscv64", "x", (), semantic="irq")
    cell = next(ln for ln in matrix_section([_case(("Nothing", "MmioWrite"))],
                                            {"riscv64/s": plain}) if ln.startswith("| irq "))
    assert "`MmioWrite`" in cell  # the asynchronous Nothing is skipped


def test_a_variant_produced_on_another_image_of_the_arch_is_not_a_gap() -> None:
    here = _case(("SystemDown",))
    there = CaseResult(case_id="riscv64-smp/t", scenario="t", arch="riscv64",
                       verdict=Verdict.PASS, detail="", expected=(), duration_s=0.0,
                       artifacts=Path("."), observed=({"variant": "CpuUp", "fields": {}},),
                       diffs=(), image={"axvisor": "0.5.8", "generation": "G0_2",
                                        "backend": ""}, qemu={})
    text = "\n".join(coverage_section([here, there]))
    section = text.split("### riscv64 (")[1]
    row = next(ln for ln in section.splitlines() if ln.startswith("| CpuUp "))
    assert "produced on riscv64-smp" in row and "NOT COVERED" not in row

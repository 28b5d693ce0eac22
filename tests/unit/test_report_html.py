"""report.html from cases made by hand: self-contained, every case that did not pass with its
first differing exit field by field, links relative to the page, text escaped, and the
cross-version matrix as soon as one architecture has two axvisor lines."""

from __future__ import annotations

import datetime as _dt
from html.parser import HTMLParser
from pathlib import Path

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.report.html import write_html
from harness.run.case import CaseResult


class Page(HTMLParser):
    """The ids, links, resource references and text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}  # id → tag
        self.hrefs: list[str] = []
        self.resources: list[str] = []  # tags that would load something
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids[str(a["id"])] = tag
        if tag == "a" and a.get("href"):
            self.hrefs.append(str(a["href"]))
        if tag in ("script", "link", "img", "iframe", "object", "embed") or "src" in a:
            self.resources.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


DIFF = ExitDiff(0, "fields", {"variant": "MmioWrite", "fields": {}},
                {"variant": "MmioWrite", "fields": {}}, 435,
                (FieldDiff("data", 0x88, 0x1122334455667788), FieldDiff("width", "Byte", "Qword")))


def case(cid: str, verdict: Verdict, artifacts: Path, *, axvisor: str = "0.3.0-preview.2",
         detail: str = "", diffs: tuple[ExitDiff, ...] = (),
         known: tuple[str, ...] = ()) -> CaseResult:
    return CaseResult(case_id=cid, scenario=cid.split("/")[1], arch="aarch64", verdict=verdict,
                      detail=detail, expected=(), observed=(), diffs=diffs, duration_s=1.0,
                      artifacts=artifacts, known=known,
                      image={"recipe": cid.split("/")[0], "axvisor": axvisor,
                             "generation": "G0_2", "backend": ""}, qemu={})


def entry() -> KnownDivergence:
    day = _dt.date(2026, 1, 1)
    return KnownDivergence(id="whole-register", arch="aarch64", axvisor=("0.3.0-preview.2",),
                           variant="MmioWrite", fields=("data", "width"), scenarios=("b",),
                           model="the stored bytes", observed="the whole register",
                           source="arm_vcpu 0.2.2 src/exception.rs:186-190", reviewed=day,
                           expires=day, line=17)


def render(tmp_path: Path, cases: list[CaseResult]) -> Page:
    path = tmp_path / "out" / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_html(cases, {}, [entry()], path, "axharness run <all>")
    return Page(path.read_text())


def test_every_case_that_did_not_pass_has_its_entry_with_the_diff_and_known_source(
        tmp_path: Path) -> None:
    casedir = tmp_path / "out" / "cases" / "b"
    cases = [case("aarch64/ok", Verdict.PASS, tmp_path / "none"),
             case("aarch64/b", Verdict.XFAIL, casedir, detail="1 exit(s) differ",
                  diffs=(DIFF,), known=("whole-register",)),
             case("aarch64/boom", Verdict.CRASH, tmp_path / "none", detail="panic <&>"),
             case("aarch64/stop", Verdict.TIMEOUT, tmp_path / "none", detail="silent")]
    casedir.mkdir(parents=True)
    (casedir / "console.log").write_text("x")
    (casedir / "payload.S").write_text("x")
    page = render(tmp_path, cases)
    assert {"case-aarch64-b", "case-aarch64-boom", "case-aarch64-stop"} <= set(page.ids)
    assert "case-aarch64-ok" not in page.ids
    text = page.plain
    assert "field model expects axvisor reports data 0x88 0x1122334455667788 width Byte Qword" \
        in text
    assert "exit #0 MmioWrite (console line 435)" in text
    assert "Upstream source: arm_vcpu 0.2.2 src/exception.rs:186-190" in text
    assert "known-divergences.toml line 17" in text
    assert "panic <&>" in text  # escaped in the source, the same text once parsed
    assert "axharness run <all>" in text
    assert "3 case(s) fail the run" not in text and "2 case(s) fail the run" in text
    assert [h for h in page.hrefs if not h.startswith("#")] == ["cases/b/console.log",
                                                                "cases/b/payload.S"]


def test_the_page_loads_nothing(tmp_path: Path) -> None:
    page = render(tmp_path, [case("aarch64/b", Verdict.XFAIL, tmp_path, diffs=(DIFF,))])
    assert page.resources == []
    assert not [h for h in page.hrefs if "://" in h or h.startswith("//")]


def test_a_second_axvisor_line_adds_the_cross_version_matrix(tmp_path: Path) -> None:
    one = [case("aarch64/b", Verdict.XFAIL, tmp_path, diffs=(DIFF,), known=("whole-register",))]
    assert "versions" not in render(tmp_path / "1", one).ids
    two = [*one, case("aarch64-0.8/b", Verdict.PASS, tmp_path, axvisor="0.8.2"),
           case("aarch64-smp/b", Verdict.PASS, tmp_path)]
    page = render(tmp_path / "2", two)
    assert page.ids.get("versions") == "section"
    matrix = page.plain.split("Cross-version matrix")[-1]  # the heading, after the nav link
    matrix = matrix.split("Cases that did not pass")[0]
    # columns in version order; the 0.3 column shows the worse of aarch64 and aarch64-smp
    assert "scenario aarch64 0.3.0-preview.2 aarch64 0.8.2 b xfail: MmioWrite.data +1 pass" \
        in matrix

"""report.html as a person sees it: the report of a real run (real axvisor under QEMU) rendered
by headless Chromium (Debian's `chromium`), checked on the rendered DOM against results.json
and the reviewed known-divergences file, with a screenshot saved beside the report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest

from harness.check.known import load_known
from harness.check.verdict import Verdict
from harness.paths import repo_root
from harness.pytest_plugin import AxhOptions
from harness.report.html import write_html
from harness.run.case import CaseResult
from harness.run.suite import KNOWN_FILE
from harness.scenarios.actions import MmioStore
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]

XFAIL_SCENARIO = "mmio-store-b"  # reviewed: a64-mmio-write-data-whole-register
# Chromium without a desktop session, as root, on a machine with no outside network.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)  # text and children's text, in order

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, tag: str, **attrs: str) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag
                and all(n.attrs.get(k) == v for k, v in attrs.items())]


class Dom(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "link", "img", "input", "hr"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            done = self.stack.pop()
            text = "".join(done.parts)
            for n in self.stack[-1:]:
                n.parts.append(f" {text} " if done.tag in ("td", "th", "p", "li") else text)
            if done.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(data)


def chromium(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary, "chromium missing: ci/install-host-deps.sh installs Debian's chromium"
    res = subprocess.run([binary, *FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}", *args,
                          page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res


def rendered(report: Path, tmp: Path) -> Node:
    """The DOM Chromium built from the page, and a screenshot of it beside the report."""
    dom = Dom(chromium(report, tmp, "--dump-dom").stdout).root
    shot = report.with_suffix(".png")
    chromium(report, tmp, f"--screenshot={shot}", "--window-size=1400,1800")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    return dom


def assert_links_resolve(dom: Node, report: Path) -> list[str]:
    ids = {n.attrs["id"] for n in dom.walk() if "id" in n.attrs}
    files = []
    for a in dom.find("a"):
        href = a.attrs.get("href", "")
        if href.startswith("#"):
            assert href[1:] in ids, f"link {href} goes nowhere"
        else:
            assert "://" not in href and not href.startswith("/"), f"not relative: {href}"
            assert (report.parent / unquote(href)).is_file(), f"broken link {href}"
            files.append(href)
    return files


def cell_of(dom: Node, section: str, row: str, column: str) -> Node:
    (table,) = dom.find("section", id=section)[0].find("table")
    header = [th.text for th in table.find("th")]
    line = next(tr for tr in table.find("tr") if tr.find("td") and tr.find("td")[0].text == row)
    return line.find("td")[header.index(column)]


@pytest.fixture(scope="module")
def real_run(axh_options: AxhOptions) -> tuple[Path, dict[str, Any]]:
    """`axharness run` on the aarch64 image (two passes, two known divergences) and the
    x86_64-vmx image (skipped on a host without nested VMX, run where there is one)."""
    out = axh_options.results / "report-html"
    cmd = [sys.executable, "-m", "harness", "run", "--recipe", "aarch64", "--recipe",
           "x86_64-vmx", "--scenario", "*-store-[bw]*", "--results", str(out), "--force",
           "--cache-dir", str(axh_options.cache), "-j", "2"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


def test_a_real_run_s_report_shows_its_known_divergence_in_chromium(
        real_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, results = real_run
    report = out / "report.html"
    dom = rendered(report, tmp_path)
    by_id = {c["case"]: c for c in results["cases"]}
    case = by_id[f"aarch64/{XFAIL_SCENARIO}"]
    entry = next(k for k in load_known(repo_root() / KNOWN_FILE)
                 if k.arch == "aarch64" and XFAIL_SCENARIO in k.scenarios)
    assert case["verdict"] == "xfail" and case["known_divergences"] == [entry.id]

    (scenario,) = scenarios_for("aarch64", XFAIL_SCENARIO)
    cell = cell_of(dom, "matrix", scenario.semantic, "aarch64")
    assert cell.text.startswith("xfail:") and "MmioWrite" in cell.text
    assert "v-xfail" in cell.attrs.get("class", "")
    (link,) = cell.find("a")
    card = next(n for n in dom.walk() if n.attrs.get("id") == link.attrs["href"][1:])
    first = case["diffs"][0]["fields"][0]
    row = next(tr.text for tr in card.find("tr") if tr.find("td")
               and tr.find("td")[0].text == first["field"])
    assert row == f"{first['field']} {first['expected']:#x} {first['observed']:#x}"
    assert f"Upstream source: {' '.join(entry.source.replace('`', '').split())}" in card.text
    assert entry.id in card.text

    files = assert_links_resolve(dom, report)
    assert f"{Path(case['artifacts']).relative_to(out)}/console.log" in files

    verdicts = {c["verdict"] for c in results["cases"]}
    for c in results["cases"]:
        shown = [n for n in dom.walk() if n.attrs.get("id", "").startswith("case-")
                 and c["case"] in n.text]
        assert bool(shown) == (c["verdict"] != "pass"), c["case"]
    badges = {b.text for b in dom.find("span") if "badge" in b.attrs.get("class", "")}
    assert badges == {f"{v} {sum(c['verdict'] == v for c in results['cases'])}"
                      for v in verdicts}
    (provenance,) = [n for n in dom.walk() if n.attrs.get("id") == "provenance"]
    assert provenance.tag == "h2"
    keys = " ".join(n.text for n in dom.find("code"))
    assert results["images"]["aarch64"]["key"] in keys


def test_a_crash_shows_the_console_end_and_working_links_in_chromium(
        axh_case: Callable[[Scenario], CaseResult], axh_options: AxhOptions,
        tmp_path: Path) -> None:
    # 0x0a00_0000 is QEMU's virtio-mmio range: axvisor has no device there and panics.
    res = axh_case(Scenario("no-device", "aarch64", "store to a GPA without a device",
                            (MmioStore(0x0A00_0000, 4, 7, reg=1),)))
    assert res.verdict is Verdict.CRASH, res.detail
    report = axh_options.results / "report-crash.html"
    write_html([res], {}, (), report, "axh_case no-device")
    dom = rendered(report, tmp_path)
    (card,) = [n for n in dom.walk() if n.attrs.get("id") == "case-aarch64-no-device"]
    assert card.text.startswith("crash aarch64/no-device")
    assert "1 case(s) fail the run" in dom.text
    (tail,) = card.find("pre")
    assert "emu_device" in tail.text and "\x1b" not in tail.text
    files = assert_links_resolve(dom, report)
    assert f"{res.artifacts.name}/console.log" in files

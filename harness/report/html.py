"""report.html: one self-contained page (inline CSS, no script, nothing fetched) for a person
looking at a run, from a results directory or a downloaded CI artifact.

It renders the same `ReportData` as report.md: verdicts, the matrices as colour-coded tables,
every case that did not pass (first differing exit field by field, the known-divergence entry
and its upstream source line, links to the artifacts, relative to the page), variant
coverage, the known divergences and the run's provenance.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.report.cases import CaseView
from harness.report.data import ReportData, collect_report
from harness.report.known_notes import known_notes_section
from harness.report.provenance import Provenance
from harness.report.reachability import Unreachable
from harness.report.tables import Cell, Section, Table
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario

_VERDICTS = {v.value for v in Verdict}

CSS = """
:root {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d2330;
}
body { margin: 0 auto; max-width: 1500px; padding: 0 24px 48px; }
header { border-bottom: 2px solid #d9dee8; padding: 14px 0 10px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #5b6475; margin: 2px 0; }
code, pre { font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace; }
nav { margin: 10px 0 0; }
nav a { margin-right: 14px; }
a { color: #1c4fb8; text-decoration: none; }
a:hover { text-decoration: underline; }
.badges { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 4px; }
.badge { border-radius: 6px; padding: 5px 12px; font-weight: 600; border: 1px solid #0002; }
.badge b { font-size: 18px; margin-left: 6px; }
.status { font-weight: 600; margin: 8px 0 0; }
.status.bad { color: #a3160b; }
.status.good { color: #1d6b2f; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { border: 1px solid #cfd5e0; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eef1f6; position: sticky; top: 0; }
td code { font-size: 12px; }
td:first-child { white-space: nowrap; }
.v-pass { background: #d3f0d8; }
.v-xfail { background: #fbe7a8; }
.v-skip { background: #e6e8ec; color: #4a5160; }
.v-divergence { background: #f6b8b0; }
.v-crash { background: #ee9088; }
.v-timeout { background: #f7c99a; }
.v-error { background: #e2c6f0; }
.v-infra { background: #c6d9f2; }
.v-interrupted { background: #d5d0e6; }
.v-other { background: #f0c0d8; }
.t-count { background: #e3f4e6; }
.t-gap { background: #f9d3ce; }
.t-na { background: #eceef2; color: #6b7384; }
.t-impl { background: #e8e4f3; color: #4b4470; }
.t-none { color: #8a91a0; }
td.strong { font-weight: 600; color: #8c1d0f; }
.case {
  border: 1px solid #cfd5e0;
  border-left: 6px solid #999;
  border-radius: 6px;
  padding: 4px 14px 8px;
  margin: 10px 0;
}
article.case { background: #fff; }
.case.v-xfail { border-left-color: #e0b21c; }
.case.fails { border-left-color: #c62d1f; }
.case h3 .verdict { border-radius: 4px; padding: 1px 7px; margin-right: 6px; }
.case .detail { margin: 4px 0; }
.case p { margin: 4px 0; }
pre {
  background: #f5f6f9;
  border: 1px solid #dde1e8;
  padding: 6px 8px;
  overflow-x: auto;
}
details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.legend span {
  display: inline-block;
  padding: 1px 8px;
  margin: 2px 4px 2px 0;
  border-radius: 4px;
}
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; }
dt { font-weight: 600; }
dd { margin: 0; }
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def prose(text: str) -> str:
    """Escaped text whose `backticked` parts become code, as in the Markdown report."""
    parts = esc(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: leave the text as it is
        return esc(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def tone_class(tone: str) -> str:
    if not tone:
        return ""
    if tone in _VERDICTS:
        return f"v-{tone}"
    return f"t-{tone}" if tone in ("count", "gap", "na", "impl", "none") else "v-other"


def td(cell: Cell) -> str:
    classes = " ".join(c for c in (tone_class(cell.tone), "strong" if cell.strong else "") if c)
    body = " ".join(p for p in (prose(cell.text) if cell.text else "",
                                f"<code>{esc(cell.code)}</code>" if cell.code else "") if p)
    if cell.href:
        body = f'<a href="{esc(cell.href)}">{body}</a>'
    attrs = (f' class="{classes}"' if classes else "") + (
        f' title="{esc(cell.title)}"' if cell.title else "")
    return f"<td{attrs}>{body}</td>"


def table(t: Table, cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in t.header)
    rows = "\n".join("<tr>" + "".join(td(c) for c in row) + "</tr>" for row in t.rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody></table>"


def section(s: Section, cls: str = "") -> str:
    tag = f"h{s.level}"
    out = [f"<{tag}>{esc(s.title)}</{tag}>"]
    if s.intro:
        out.append(f"<p>{prose(s.intro)}</p>")
    if s.table is not None:
        out.append(table(s.table, cls) if s.table.rows else "<p>None in this run.</p>")
    if s.notes:
        out.append("<ul>" + "".join(f"<li>{prose(n)}</li>" for n in s.notes) + "</ul>")
    return "\n".join(out)


def badges(counts: Sequence[tuple[str, int]]) -> str:
    return '<div class="badges" id="summary">' + "".join(
        f'<span class="badge {tone_class(v)}">{esc(v)} <b>{n}</b></span>' for v, n in counts
    ) + "</div>"


def case_card(v: CaseView) -> str:
    cls = f"case {tone_class(v.verdict)}" + (" fails" if v.failure else "")
    out = [f'<article class="{cls}" id="{esc(v.anchor)}">',
           f'<h3><span class="verdict {tone_class(v.verdict)}">{esc(v.verdict)}</span>'
           f" {esc(v.case_id)}</h3>"]
    if v.detail:
        out.append(f'<p class="detail">{prose(v.detail)}</p>')
    if v.fields:
        rows = "".join(f"<tr><td><code>{esc(f.field)}</code></td><td><code>{esc(f.expected)}"
                       f"</code></td><td><code>{esc(f.observed)}</code></td></tr>"
                       for f in v.fields)
        more = f" (+{v.more_diffs} more differing exits)" if v.more_diffs else ""
        out.append(f"<p>First differing exit: {esc(v.diff_at)}{esc(more)}</p>"
                   '<table class="diff wrap"><thead><tr><th>field</th><th>model expects</th>'
                   f"<th>axvisor reports</th></tr></thead><tbody>{rows}</tbody></table>")
    for k in v.known:
        out.append(f'<p class="known">Known divergence <code>{esc(k.id)}</code> '
                   f"(tests/conformance/known-divergences.toml line {k.line}): the model: "
                   f"{prose(k.model)}; axvisor: {prose(k.observed)}.<br>Upstream source: "
                   f'<span class="source">{prose(k.source)}</span></p>')
    if v.artifacts:
        links = " · ".join(f'<a href="{esc(path)}">{esc(name)}</a>' for name, path in v.artifacts)
        out.append(f'<p class="artifacts">Artifacts (<code>{esc(v.artifacts_dir)}/</code>): '
                   f"{links}</p>")
    elif not v.artifacts_dir:
        out.append('<p class="artifacts">No artifacts: the case did not run.</p>')
    if v.console_tail:
        out.append("<details open><summary>End of the console</summary>"
                   f"<pre>{esc(v.console_tail)}</pre></details>")
    out.append("</article>")
    return "\n".join(out)


def cases_section(cases: Sequence[CaseView]) -> str:
    out = [f'<h2 id="cases">Cases that did not pass ({len(cases)})</h2>']
    if not cases:
        return out[0] + "<p>None: every case passed.</p>"
    cards = [v for v in cases if v.verdict != "skip" or v.first_diff]
    skips = [v for v in cases if v not in cards]
    out += [case_card(v) for v in cards]
    if skips:
        rows = "".join(f'<tr id="{esc(v.anchor)}"><td class="v-skip">skip</td>'
                       f"<td>{esc(v.case_id)}</td><td>{prose(v.detail)}</td></tr>"
                       for v in skips)
        out.append(f"<h3>Skipped ({len(skips)})</h3><table><thead><tr><th>verdict</th>"
                   f"<th>case</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>")
    return "\n".join(out)


def provenance_section(p: Provenance | None) -> str:
    out = ['<h2 id="provenance">Provenance</h2>']
    if p is None:
        return out[0] + "<p>Not recorded for this report.</p>"
    facts = [("harness", f"axharness {p.harness}"), ("commit", p.commit),
             ("command", p.command), ("host", f"{p.host}, Python {p.python}"),
             ("QEMU", "; ".join(p.qemu_versions) or "not run"),
             ("toolchain", "; ".join(p.toolchains) or "no image built")]
    out.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd><code>{esc(v)}</code></dd>"
                                for k, v in facts) + "</dl>")
    rows = "".join(
        f"<tr><td>{esc(i.recipe)}</td><td>{esc(i.arch)}</td><td>{esc(i.axvisor)}</td>"
        f"<td><code>{esc(i.key or '—')}</code></td>"
        f"<td>{esc(', '.join(f'{n} {ver}' for n, ver in i.vcpu_crates) or '—')}</td>"
        f"<td>{esc(i.accel or '—')}</td><td>{esc(i.cpu or '—')}</td>"
        f"<td>{'' if i.build_seconds is None else f'{i.build_seconds:.1f} s'}</td></tr>"
        for i in p.images)
    out.append("<table><thead><tr><th>image</th><th>arch</th><th>axvisor</th><th>image key</th>"
               "<th>vCPU crates</th><th>accelerator</th><th>CPU</th><th>build</th></tr></thead>"
               f"<tbody>{rows}</tbody></table>")
    return "\n".join(out)


def _nav(data: ReportData) -> str:
    links = [(s.anchor, s.title) for s in data.matrices if s.anchor]
    links += [("cases", f"Cases that did not pass ({len(data.cases)})"),
              ("coverage", "Coverage"), ("known", "Known divergences"),
              ("provenance", "Provenance")]
    return "<nav>" + "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in links) + "</nav>"


def _legend() -> str:
    return '<p class="legend">' + "".join(
        f'<span class="{tone_class(v.value)}">{esc(v.value)}</span>' for v in Verdict) + "</p>"


def _anchored(sections: Iterable[Section], cls: str = "") -> str:
    return "\n".join(f'<section id="{esc(s.anchor)}">{section(s, cls)}</section>' if s.anchor
                     else section(s, cls) for s in sections)


def render(data: ReportData, known_notes: Section | None = None) -> str:
    failing = sum(v.failure for v in data.cases)
    status = (f'<p class="status bad">{failing} case(s) fail the run.</p>' if failing
              else '<p class="status good">No case fails the run.</p>')
    commit = data.provenance.commit if data.provenance else "not recorded"
    per_image = Section("Verdicts per image", "", data.per_image)
    images = [s for s in data.coverage[1:] if s.level == 3]
    coverage = [_anchored(data.coverage[:2])]
    coverage += [f"<details><summary>{esc(s.title)}</summary>{section(s, 'wrap')}</details>"
                 for s in images]
    body = [
        "<header>", "<h1>axvisor conformance report</h1>",
        f'<p class="meta">Generated by <code>{esc(data.command)}</code>; axharness commit '
        f"<code>{esc(commit)}</code>.</p>", badges(data.counts), status,
        *([f'<p class="meta">{esc(data.how_run)}</p>'] if data.how_run else []), _nav(data),
        "</header>",
        "<main>", f'<section id="verdicts">{section(per_image)}</section>',
        _anchored(data.matrices), _legend(), cases_section(data.cases),
        *coverage, _anchored([data.known, *([known_notes] if known_notes else [])], "wrap"),
        provenance_section(data.provenance),
        "</main>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>axvisor conformance report</title>"
            f"<style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_html(cases: Sequence[CaseResult], scenarios: dict[str, Scenario],
               known: Sequence[KnownDivergence], path: Path, command: str,
               unreachable: Sequence[Unreachable] = (),
               extra: Mapping[str, Any] | None = None) -> None:
    path.write_text(render(collect_report(cases, scenarios, known, command, path.parent,
                                          unreachable, extra), known_notes_section(cases)))

"""`axharness repro`'s report: the expected exits next to this run's, row by row, and a
summary (how the run ended, the verdict, the model's first difference, whether it reproduced
the recorded run, whether the kernel was the recorded one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.run.artifacts import CaseArtifacts
from harness.run.repro import PatchedKernel, ReproResult


@dataclass(frozen=True, slots=True)
class RowMark:
    same: bool
    note: str  # "" when same


def _fmt_value(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return hex(v)
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def format_exit(e: dict[str, Any] | None) -> str:
    """An exit in the JSON form, written the way axvm's Debug output reads."""
    if e is None:
        return "—"
    fields = e.get("fields") or {}
    inner = ", ".join(f"{k}: {_fmt_value(v)}" for k, v in fields.items())
    return f"{e.get('variant')} {{ {inner} }}" if inner else str(e.get("variant"))


def _mark(exp: dict[str, Any] | None, obs: dict[str, Any] | None) -> RowMark:
    if exp is None:
        return RowMark(False, "unexpected")
    if obs is None:
        return RowMark(False, "missing")
    if exp.get("variant") != obs.get("variant"):
        return RowMark(False, "variant")
    ef, of = exp.get("fields") or {}, obs.get("fields") or {}
    changed = sorted(k for k in set(ef) | set(of) if ef.get(k) != of.get(k))
    return RowMark(not changed, ", ".join(changed))


def _grouped(exits: tuple[dict[str, Any], ...]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for e in exits:
        out.setdefault(int(e.get("vcpu", 0)), []).append(e)
    return out or {0: []}


def side_by_side(art: CaseArtifacts, res: ReproResult) -> str:
    """expected.json next to this run's exits, row by row (asynchronous exits set aside)."""
    kept = _grouped(res.matched)
    expected = _grouped(art.expected or ())
    several = len(set(kept) | set(expected)) > 1
    rows = []
    for v in sorted(set(kept) | set(expected)):
        exps, obss = expected.get(v, []), kept.get(v, [])
        for i in range(max(len(exps), len(obss))):
            exp = exps[i] if i < len(exps) else None
            obs = obss[i] if i < len(obss) else None
            mark = _mark(exp, obs) if art.expected is not None else RowMark(True, "")
            line = f"console line {obs['line']}" if obs is not None and "line" in obs else ""
            rows.append((f"vCPU {v} #{i}" if several else f"#{i}", format_exit(exp),
                         format_exit(obs), "=" if mark.same else f"≠ {mark.note}", line))
    head = ("", "expected.json" if art.expected is not None else "(no expected.json)",
            "this run", "", "")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(3)]
    out = [f"{head[0]:{widths[0]}}  {head[1]:{widths[1]}}  {head[2]}"]
    for r in rows:
        out.append(f"{r[0]:{widths[0]}}  {r[1]:{widths[1]}}  {r[2]:{widths[2]}}  {r[3]}"
                   f"{'  (' + r[4] + ')' if r[4] else ''}".rstrip())
    if res.asynchronous:
        out.append(f"(+{res.asynchronous} asynchronous exit(s) set aside)")
    return "\n".join(out)


def summary(art: CaseArtifacts, res: ReproResult, kernel: PatchedKernel) -> list[str]:
    known = f" (known divergence {', '.join(res.known)})" if res.known else ""
    same = "same as" if res.verdict == art.verdict else "NOT"
    lines = [f"run ended: {res.ending} ({res.detail})",
             f"verdict: {res.verdict}{known}: {res.verdict_detail} ({same} the recorded "
             f"{art.verdict})"]
    if res.panic:
        lines.append(f"hypervisor panic: {res.panic}")
    for e in res.parse_errors[:3]:
        lines.append(f"parse error: {e}")
    if res.diffs is None:
        lines.append("model: no expected.json in the case directory")
    elif res.diffs:
        lines.append(f"model: {len(res.diffs)} difference(s); first: {res.diffs[0].describe()}")
    else:
        lines.append("model: every exit as expected.json predicts")
    if res.reproduced is None:
        lines.append("recorded run: no observed.jsonl to compare with")
    else:
        n = len(art.recorded or ())
        lines.append(f"recorded run (verdict {art.verdict}): "
                     + (f"same {n} exit(s) — reproduced" if res.reproduced
                        else f"DIFFERENT exits (recorded {n}, now {len(res.observed)})"))
    if kernel.identical is False:
        lines.append(f"note: the patched kernel differs from the recorded one "
                     f"({kernel.sha256[:12]} vs {kernel.recorded_sha256[:12]}: other binutils?)")
    return lines

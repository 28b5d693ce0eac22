"""A case directory read back: what the run recorded (manifest.json, payload.S, expected.json,
observed.jsonl), what it kept to run anywhere (the patched kernel, axvisor.elf, end.json), and
the kit (harness.run.kit) those make for a run without the suite. Every problem is one
UsageError naming the file at fault."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.digest import sha256_file
from harness.errors import UsageError
from harness.model import schemas
from harness.qemu.machine import machine_argv
from harness.qemu.profiles import get_profile
from harness.run.kit import KERNEL_TOKEN, DeclaredEnd, Kit, KitError, KnownCover
from harness.schema import Schema
from harness.textfile import parse_json, read_json, read_text

KERNEL_NAMES = ("axvisor.bin", "axvisor.elf")  # what the suite names a case's patched kernel
ELF_NAME = "axvisor.elf"


@dataclass(frozen=True, slots=True)
class CaseArtifacts:
    """What a case directory says about the run it holds."""

    casedir: Path
    case_id: str
    arch: str
    verdict: str  # as recorded (after known divergences)
    recipe: str
    image_key: str
    profile: str
    schema: Schema  # the exit schema the case was judged with
    payload_asm: str
    patched_sha256: str  # "" when the case did not record one
    expected: tuple[dict[str, Any], ...] | None  # None: the model could not predict
    recorded: tuple[dict[str, Any], ...] | None  # observed.jsonl; None: the run never got there
    vcpu_of_cpu: dict[int, int] = field(default_factory=dict)  # vCPU pinning
    known: tuple[str, ...] = ()  # known divergences that matched the recorded run
    restored: bool = False  # the run started from a snapshot (harness.persist.snapshot)


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise UsageError(f"{path}: missing; is {path.parent} a case directory "
                         "(results/cases/<id>/)?")
    return read_json(path)


def _field(doc: Any, path: Path, *keys: str) -> str:
    cur = doc
    for k in keys:
        cur = cur.get(k) if isinstance(cur, dict) else None
    if not isinstance(cur, str) or not cur:
        raise UsageError(f"{path}: no {'.'.join(keys)}")
    return cur


def _exit_list(value: Any, path: Path) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not all(
            isinstance(e, dict) and isinstance(e.get("variant"), str) for e in value):
        raise UsageError(f"{path}: expected a list of exits ({{\"variant\": …, \"fields\": …}})")
    return tuple(value)


def _read_jsonl(path: Path) -> tuple[dict[str, Any], ...]:
    out = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        obj = parse_json(line, path, n)
        if not isinstance(obj, dict) or not isinstance(obj.get("variant"), str):
            raise UsageError(f"{path}:{n}: not an exit record")
        out.append(obj)
    return tuple(out)


def load_case(casedir: Path) -> CaseArtifacts:
    """Read a case directory; every problem is one line naming the file at fault."""
    if casedir.name == "manifest.json" and casedir.is_file():
        casedir = casedir.parent
    if not casedir.is_dir():
        raise UsageError(f"{casedir}: not a directory (expected results/cases/<id>/)")
    mf = casedir / "manifest.json"
    m = _read_json(mf)
    if not isinstance(m, dict):
        raise UsageError(f"{mf}: expected an object")
    case_id = _field(m, mf, "case")
    verdict = m.get("verdict", "?")
    if not isinstance(m.get("image"), dict) or "key" not in m["image"]:
        raise UsageError(f"{mf}: case {case_id} records no image (verdict {verdict}: it never "
                         "booted), so there is nothing to reproduce")
    try:
        schema = schemas.of_record(m["image"])
    except UsageError as exc:
        raise UsageError(f"{mf}: {exc}") from None
    asm = read_text(casedir / "payload.S")
    exp_path = casedir / "expected.json"
    expected = _exit_list(_read_json(exp_path), exp_path) if exp_path.is_file() else None
    obs_path = casedir / "observed.jsonl"
    recorded = _read_jsonl(obs_path) if obs_path.is_file() else None
    sha = m["image"].get("patched_sha256", "")
    ids = m["image"].get("phys_cpu_ids", [0])
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise UsageError(f"{mf}: image.phys_cpu_ids: expected a list of CPU numbers")
    known = m.get("known_divergences", [])
    return CaseArtifacts(
        casedir=casedir.resolve(), case_id=case_id, arch=_field(m, mf, "arch"),
        verdict=str(verdict), recipe=_field(m, mf, "image", "recipe"),
        image_key=_field(m, mf, "image", "key"), profile=_field(m, mf, "qemu", "profile"),
        schema=schema, payload_asm=asm,
        patched_sha256=sha if isinstance(sha, str) else "", expected=expected,
        recorded=recorded, vcpu_of_cpu={cpu: v for v, cpu in enumerate(ids)},
        known=tuple(str(k) for k in known) if isinstance(known, list) else (),
        restored=bool(isinstance(m.get("restored"), dict)
                      and m["restored"].get("loader_exit_lines")))


def kernel_in_case(art: CaseArtifacts) -> Path | None:
    """The patched kernel the case ran on, if the case directory still holds it (the suite
    keeps it for failures): the file whose sha256 is the one recorded."""
    if not art.patched_sha256:
        return None
    for name in KERNEL_NAMES:
        path = art.casedir / name
        if path.is_file() and sha256_file(path) == art.patched_sha256:
            return path
    return None


def symbols_in_case(art: CaseArtifacts) -> Path | None:
    """The ELF with axvisor's symbols the case directory holds (the kernel itself, when the
    image boots its ELF)."""
    path = art.casedir / ELF_NAME
    return path if path.is_file() else None


def declared_end(art: CaseArtifacts) -> tuple[DeclaredEnd, str]:
    """(the scenario's declared end, "" or a note saying where it came from): end.json as the
    run wrote it; for a case directory older than that, the scenario as the catalogue has it
    today, with the suite's default watchdogs."""
    path = art.casedir / "end.json"
    if path.is_file():
        try:
            return DeclaredEnd.from_json(read_json(path), str(path)), ""
        except KitError as exc:
            raise UsageError(str(exc)) from None
    from harness.run.keep import declared_end as end_of_scenario
    from harness.run.watchers import HANG_TIMEOUT_SCALE, STUCK_SETTLE_S
    from harness.scenarios.registry import scenarios_for

    name = art.case_id.split("/", 1)[-1]
    found = [s.for_image(art.recipe) for s in scenarios_for(art.arch) if s.name == name]
    profile = get_profile(art.profile)
    if not found:
        timeout, watchdog = profile.scaled(1.0)
        return DeclaredEnd(timeout, watchdog, stuck_settle_s=STUCK_SETTLE_S), (
            f"{path.name} missing and scenario {name} not in the catalogue: ends as a "
            "normal run")
    scale = HANG_TIMEOUT_SCALE if found[0].expect_hang or found[0].may_stick else 1.0
    return end_of_scenario(found[0], *profile.scaled(scale)), (
        f"{path.name} missing (an older case directory): declared end from today's catalogue")


def kit_of(art: CaseArtifacts, kernel: str, elf: str, end: DeclaredEnd,
           known: tuple[KnownCover, ...] = ()) -> Kit:
    """The case as a kit, its kernel and ELF named as they will sit next to it."""
    return Kit(
        case_id=art.case_id, arch=art.arch, schema=art.schema.id,
        argv=tuple(machine_argv(get_profile(art.profile), KERNEL_TOKEN)), kernel=kernel,
        elf=elf, end=end, expected=art.expected, recorded=art.recorded,
        recorded_verdict=art.verdict,
        vcpu_of_cpu=tuple(sorted(art.vcpu_of_cpu.items())) or ((0, 0),), known=known,
        patched_sha256=art.patched_sha256,
        recorded_slice=(art.casedir / "persistent.json").is_file(),
        recorded_restored=art.restored,
        runtime_after=_runtime_after(art.casedir / "persistent.json"))


def _runtime_after(path: Path) -> int:
    """How many exits the runtime adds after a shared-boot program run alone, as its
    persistent.json records it; -1 when it does not say (a standalone case, an older one)."""
    if not path.is_file():
        return -1
    data = _read_json(path)
    value = data.get("runtime_exits_after", -1) if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < -1:
        raise UsageError(f"{path}: runtime_exits_after must be a whole number >= 0")
    return value


def known_covers(ids: tuple[str, ...]) -> tuple[KnownCover, ...]:
    """The entries of the repository's known-divergences file with these ids (none outside
    a checkout: the kit then judges by the model alone and says divergence)."""
    if not ids:
        return ()
    from harness.check.known import load_known
    from harness.paths import repo_root
    from harness.run.suite import KNOWN_FILE

    try:
        entries = load_known(repo_root() / KNOWN_FILE)
    except UsageError:
        return ()
    return tuple(KnownCover(k.id, k.kind, k.variant, k.fields) for k in entries if k.id in ids)

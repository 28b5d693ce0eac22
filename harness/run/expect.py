"""What the reference model predicts for a case: every trap the payload executes, per vCPU, as
the image's exit schema writes it (`expected_exits`), and expected.json's form of it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.guests import emit_x86_64
from harness.guests.payload import BuiltPayload
from harness.images.build import Image
from harness.model.arch import Arch
from harness.model.convert import exit_to_json
from harness.model.exits import ExitReason
from harness.model.predict import ContractNote, GuestTrap, configured, prediction
from harness.schema import Schema


def expected_exits(image: Image, payload: BuiltPayload, schema: Schema,
                   backend: str = "", *, last_action: int | None = None,
                   spin_at: int | None = None, notes: list[ContractNote] | None = None,
                   undecided: dict[tuple[int, int], frozenset[str]] | None = None,
                   reached: set[str] | None = None) -> dict[int, tuple[ExitReason, ...]]:
    """The model's prediction for every trap the guest executes, per vCPU, in order (only the
    traps of actions up to `last_action` when the run is expected to end there), under the
    image's exit schema; the contract notes of the changes applied go to `notes`, the
    attributes a trap leaves undecided to `undecided` ((vCPU, position) → names).  A trap the
    schema's enum has no exit for is no exit (its note says which change removed it). The
    labels of the trap sites the guest reaches go to `reached`."""
    arch = Arch(image.arch)
    out: dict[int, list[ExitReason]] = {0: []}
    traps = payload.traps
    if last_action is not None:
        traps = tuple(t for t in traps
                      if t.site.action_index is not None and t.site.action_index <= last_action)
    if spin_at is not None:  # the guest hangs there: later traps never execute
        traps = tuple(t for t in traps
                      if t.site.action_index is not None and t.site.action_index < spin_at)
    off: set[int] = set()
    for trap in traps:
        stream = out.setdefault(trap.site.vcpu, [])
        if trap.site.vcpu in off:
            continue  # the VM is powered off: nothing after that instruction executes
        if reached is not None:
            reached.add(trap.site.label)
        got = configured(prediction(GuestTrap(
            arch=arch, insn=trap.insn, gprs=dict(trap.site.gprs), gpa=trap.site.gpa,
            backend=backend,
            x86_code_bits=emit_x86_64.CODE_BITS if arch is Arch.X86_64 else 64), schema),
            arch, schema)
        if notes is not None:
            notes += [n for n in got.notes if n not in notes]
        if got.exit is not None:
            if got.undecided and undecided is not None:
                undecided[(trap.site.vcpu, len(stream))] = got.undecided
            stream.append(got.exit)
        if got.canonical is not None and got.canonical.VARIANT == "SystemDown":
            off.add(trap.site.vcpu)
    return {v: tuple(exits) for v, exits in out.items()}


def expected_json(expected: dict[int, tuple[ExitReason, ...]],
                  undecided: Mapping[tuple[int, int], frozenset[str]] | None = None
                  ) -> tuple[dict[str, Any], ...]:
    """expected.json: vCPU 0's exits, then each other vCPU's, tagged with `vcpu`, and with
    `undecided` the attributes the model left open."""
    und = undecided or {}
    return tuple({**exit_to_json(e), **({"vcpu": v} if v else {}),
                  **({"undecided": sorted(und[(v, i)])} if (v, i) in und else {})}
                 for v, exits in sorted(expected.items()) for i, e in enumerate(exits))

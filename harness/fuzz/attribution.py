"""Which action each predicted exit of a program comes from, so that a known divergence's
`access` class can be held against the access that produced a diff.

The model predicts one exit per trap site, per vCPU in execution order (payload sites, then the
runtime's), and cuts only the tail (after SystemDown, or where the run is declared to end): the
i-th expected exit of vCPU v is the i-th site of vCPU v. The sites come from the same emitter
the run used; emitting is pure, so nothing is assembled here.
"""

from __future__ import annotations

from harness.guests.payload import RUNTIME_SITES, emitter_for
from harness.scenarios.actions import Action


def exit_actions(arch: str, backend: str, actions: tuple[Action, ...]
                 ) -> dict[int, tuple[Action | None, ...]]:
    """vCPU → the action behind each of its expected exits (None: a trap of the runtime). A
    started vCPU's exits are attributed to the StartSecondary action that started it."""
    sites = emitter_for(arch)(actions, backend).sites + RUNTIME_SITES[arch]
    out: dict[int, list[Action | None]] = {}
    for site in sites:
        out.setdefault(site.vcpu, []).append(
            None if site.action_index is None else actions[site.action_index])
    return {v: tuple(a) for v, a in out.items()}

"""Scenario values: a named sequence of guest actions for one architecture."""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.scenarios.actions import Action


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one guest run does. The runtime adds its own start and SystemOff around it."""

    name: str
    arch: str
    summary: str  # one line, shown in reports
    actions: tuple[Action, ...]
    # Cross-architecture conformance: scenarios sharing a `semantic` id do the same thing.
    semantic: str = ""
    # A scenario whose last action hits something axvisor does not emulate ends in a
    # hypervisor panic; this is the expected panic text. The exits logged before it are still
    # checked, and the exit stream ends at that action.
    expect_panic: str = ""
    # Recipes (by name) this scenario needs, e.g. an image built with emulated interrupts;
    # empty: every image of the architecture whose recipe does not restrict its scenarios.
    images: tuple[str, ...] = ()
    # The last action leaves the vCPU blocked for good (axvisor parks a vCPU after CpuDown or
    # Halt): the run ends by the no-output watchdog, which is then this scenario's documented
    # end, with a short watchdog; the exits logged before it are checked.
    expect_hang: bool = False
    # A known hypervisor bug leaves the VM running after the guest's last exit (it never
    # reaches its shell): this axvisor log text marks that point. The harness then waits
    # STUCK_SETTLE_S for the normal end; if it comes, the bug is gone and the case says so.
    expect_stuck: str = ""
    # Like expect_stuck, but for a race upstream sometimes loses: after this log text the run
    # may end normally or stay running (stopped by the settle time or by a silent console).
    may_stick: str = ""
    # The last action's exit is not handled and the vCPU re-enters the guest at the same
    # instruction, so the exit repeats until the run is stopped: repeats are folded into one
    # (counted in the verdict's detail) before the comparison.
    last_exit_repeats: bool = False
    # A vCPU parked by its last call is woken while the others run and re-executes that call
    # (the hypervisor did not step past it): each vCPU's last exit may repeat, any number of
    # times; repeats are folded per vCPU (counted in the verdict's detail). The run ends as
    # usual.
    may_repeat_last_exit: bool = False
    # axvisor gets an error from the vCPU at the last action, logs it (this text) and stops
    # the VM: the run ends normally, the exits up to that action are checked.
    expect_vm_error: str = ""
    # Typed on the serial console once the guest prints AXH:WAIT-INPUT (AwaitConsoleInput).
    console_input: bytes = b""
    # Exits the model cannot place in the stream (an interrupt) that must still show up at
    # least once among the asynchronous ones, e.g. the interrupt the console input raises.
    expect_async: tuple[str, ...] = ()
    # How the run ends on particular images, where their axvisor line differs (a bug fixed
    # upstream, a panic that became a VM error): recipe name → end keys and values (the keys
    # of ENDS) that replace the scenario's own there. What the guest does never changes.
    on: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()

    def for_image(self, recipe: str) -> Scenario:
        """The scenario as it runs on image `recipe` (its `on` entry applied)."""
        changes = dict(dict(self.on).get(recipe, ()))
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]

    @property
    def ends_at_last_action(self) -> bool:
        """Whether nothing after the last action runs (the runtime's own SystemOff neither)."""
        return bool(self.expect_panic or self.expect_hang or self.last_exit_repeats
                    or self.expect_vm_error)

    @property
    def case_id(self) -> str:
        return f"{self.arch}/{self.name}"


# The keys an `on` entry may set: the scenario's declared end and its asynchronous exits.
ENDS = ("expect_panic", "expect_hang", "expect_stuck", "may_stick", "last_exit_repeats",
        "may_repeat_last_exit",
        "expect_vm_error", "expect_async")

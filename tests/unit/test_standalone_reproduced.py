"""A repro of a shared-boot case (persistent mode) reproduces it when the program's exits come
again: the runtime's power-off that a standalone boot adds after them is not a difference, any
other extra or changed exit is."""

from __future__ import annotations

from harness.run.standalone import _same_exits

LOAD = {"variant": "MmioRead", "fields": {"addr": 0x0800_0e00, "width": "Byte"}}
OFF = {"variant": "SystemDown", "fields": {}}
OTHER = {"variant": "Hypercall", "fields": {"nr": 7}}


def test_a_standalone_run_of_a_slice_may_add_the_runtimes_power_off() -> None:
    assert _same_exits([LOAD], [LOAD, OFF], slice_of=[LOAD, OFF])


def test_a_whole_recorded_run_must_match_exactly() -> None:
    assert not _same_exits([LOAD], [LOAD, OFF], slice_of=None)
    assert _same_exits([LOAD, OFF], [LOAD, OFF], slice_of=None)


def test_a_slice_is_not_reproduced_by_other_or_changed_exits() -> None:
    assert not _same_exits([LOAD], [LOAD, OTHER], slice_of=[LOAD, OFF])
    assert not _same_exits([LOAD], [OTHER, OFF], slice_of=[LOAD, OFF])
    assert not _same_exits([LOAD, LOAD], [LOAD, OFF], slice_of=[LOAD, LOAD, OFF])


# axvisor 0.8's aarch64 schema reports the runtime's PSCI SYSTEM_OFF as a Hypercall whose
# arguments are the program's leftovers: the model leaves them undecided.
OFF_08 = {"variant": "Hypercall", "fields": {"nr": 0x8400_0008, "args": [0] * 6},
          "undecided": ["args"]}
OFF_08_SEEN = {"variant": "Hypercall", "fields": {"nr": 0x8400_0008,
                                                  "args": [0xDEAD_BEEF, 0, 0, 0, 0, 1]}}


def test_the_power_off_after_a_slice_matches_in_the_fields_the_model_decided() -> None:
    assert _same_exits([LOAD], [LOAD, OFF_08_SEEN], slice_of=[LOAD, OFF_08])
    wrong_nr = {"variant": "Hypercall", "fields": {"nr": 0x8400_0009, "args": [0] * 6}}
    assert not _same_exits([LOAD], [LOAD, wrong_nr], slice_of=[LOAD, OFF_08])


STORE = {"variant": "MmioWrite", "fields": {"addr": 0x0800_0e00, "width": "Byte", "data": 1}}


def test_a_program_exit_the_slice_lacked_does_not_pass_for_the_runtimes() -> None:
    """Recorded slice [LOAD] (the store missing: a divergence); alone the program now gives
    LOAD, STORE and the power-off: the runtime adds one exit, not two."""
    assert not _same_exits([LOAD], [LOAD, STORE, OFF], slice_of=[LOAD, STORE, OFF],
                           runtime_after=1)
    assert _same_exits([LOAD, STORE], [LOAD, STORE, OFF], slice_of=[LOAD, STORE, OFF],
                       runtime_after=1)

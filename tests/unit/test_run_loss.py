"""Loss of exit records on a lossy console (harness.run.loss): when records count as lost,
and when a shortfall is a divergence instead."""

from __future__ import annotations

from harness.run.loss import drop_reports, judge, matched_in_order

MMIO = ["MmioRead", "MmioWrite"] * 4


def test_every_predicted_record_in_order_is_no_loss() -> None:
    r = judge(MMIO, MMIO, start_marker=True, end_marker=True, ran_past_end=True)
    assert not r.lost and r.missing == 0 and r.summary() == "no exit record lost"


def test_fewer_records_than_predicted_is_loss_with_the_count_missing() -> None:
    observed = MMIO[:3] + MMIO[6:]
    r = judge(MMIO, observed, start_marker=True, end_marker=True, ran_past_end=True)
    assert r.lost and r.missing == 3
    assert "5 of 8 predicted exit records arrived" in r.summary()


def test_a_different_record_in_the_same_place_is_not_loss() -> None:
    observed = [*MMIO[:-1], "Hypercall"]  # as many records as predicted: a divergence
    r = judge(MMIO, observed, start_marker=True, end_marker=True, ran_past_end=True)
    assert not r.lost and r.missing == 1


def test_asynchronous_records_neither_hide_nor_cause_loss() -> None:
    observed = ["Nothing", *MMIO[:-1], "Nothing", "Nothing"]
    r = judge(MMIO, observed, start_marker=True, end_marker=True, ran_past_end=True)
    assert r.lost and r.missing == 1
    r = judge(MMIO, ["Nothing", *MMIO], start_marker=True, end_marker=True, ran_past_end=True)
    assert not r.lost


def test_a_missing_start_marker_before_later_records_is_loss() -> None:
    r = judge(MMIO, MMIO, start_marker=False, end_marker=True, ran_past_end=True)
    assert r.lost and "start marker" in r.summary()
    quiet = judge([], [], start_marker=False, end_marker=False, ran_past_end=False)
    assert not quiet.lost  # nothing ran: a crash or a hang, not loss


def test_a_missing_end_marker_counts_only_when_the_vm_stopped_normally() -> None:
    r = judge(MMIO, MMIO, start_marker=True, end_marker=False, ran_past_end=True)
    assert r.lost and "end marker" in r.summary()
    r = judge(MMIO, MMIO, start_marker=True, end_marker=False, ran_past_end=False)
    assert not r.lost  # e.g. the payload panicked axvisor: the end was never reached


def test_axvisor_drop_reports_are_loss_even_when_the_predicted_records_arrived() -> None:
    console = (b"axvisor:$ \r\x1b[2K[Axvisor] dropped 311 host log records (63634 source bytes)\n"
               b"\n[Axvisor host console dropped 17 queued bytes]\n")
    reports = drop_reports(console)
    assert reports == ["[Axvisor] dropped 311 host log records",
                       "[Axvisor host console dropped 17 queued bytes]"]
    r = judge(MMIO, MMIO, start_marker=True, end_marker=True, ran_past_end=True,
              reports=reports)
    assert r.lost and "dropped 311" in r.summary()
    assert drop_reports(b"[Axvisor VM 1 console dropped 4 buffered bytes]") == []


def test_matched_in_order_is_the_longest_common_subsequence() -> None:
    assert matched_in_order(["a", "b", "c"], ["b", "c", "a"]) == 2
    assert matched_in_order(["a", "b", "a"], ["a", "a", "b", "a"]) == 3
    assert matched_in_order([], ["a"]) == 0 and matched_in_order(["a"], []) == 0

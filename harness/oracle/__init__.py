"""The syndrome oracle: judge a vCPU exit from the trap the hardware reported (QEMU's trap
log), not from the guest's instruction bytes. See docs/oracle.md."""

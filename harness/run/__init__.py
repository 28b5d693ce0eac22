"""Running cases: one scenario on one image in one QEMU machine, to a verdict."""

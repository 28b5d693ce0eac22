"""axharness: boots real axvisor images under QEMU and checks every vCPU exit against a model."""

__version__ = "0.1.0"

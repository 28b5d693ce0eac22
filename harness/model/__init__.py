"""Reference model of axvcpu's AxVCpuExitReason (values.py, exits.py)."""

"""pytest plugin (entry point `axharness`): options, markers and fixtures for real-QEMU tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: boots real QEMU with a real axvisor image")

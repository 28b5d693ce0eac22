"""Persistent mode: many programs per axvisor boot (docs/persistent-mode.md)."""

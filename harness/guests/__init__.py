"""Guests: the per-architecture runtime (guest-src/) and the scenario payloads patched into it."""

"""Seeded random guest programs (issue 9): generate, run against the reference model, and
shrink any divergence that the known-divergence file does not cover to a minimal reproducer."""

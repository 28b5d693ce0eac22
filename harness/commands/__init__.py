"""One module per `axharness` sub-command.

Each has `register(subparsers)` and `run(args) -> int`.
"""

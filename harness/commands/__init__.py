"""One module per `axharness` sub-command; each has `register(subparsers)` and `run(args) -> int`."""

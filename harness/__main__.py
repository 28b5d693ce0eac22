"""`python -m harness` is the same as the `axharness` console script."""

import sys

from harness.cli import main

sys.exit(main())

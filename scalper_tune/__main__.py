"""`python -m scalper_tune` entry point."""

import sys

from scalper_tune.cli import main

sys.exit(main())

"""`python -m scancci` is the `scancci` command."""

import sys

from scancci.cli import main

sys.exit(main())

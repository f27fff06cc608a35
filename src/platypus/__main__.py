"""`python -m platypus` (what `torchrun -m platypus train ...` runs in each process)."""

import sys

from platypus.cli import main

sys.exit(main())

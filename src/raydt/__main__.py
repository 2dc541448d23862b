"""``python -m raydt``."""

import sys

from raydt.cli import main

sys.exit(main())

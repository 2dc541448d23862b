"""``python -m raydt`` and the ``raydt`` console script. A run goes to the lasting cluster's warm runner before
raydt's CLI is imported (a quarter of a second on a warm run); anything else runs here."""

from __future__ import annotations

import sys


def main() -> int:
    from raydt.clusters import warm

    handed = warm.hand_over(sys.argv[1:])
    if handed is not None:
        return handed
    from raydt.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

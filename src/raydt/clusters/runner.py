"""``python -m raydt.clusters.runner SOCKET``: the warm runner ``raydt cluster up`` starts beside the cluster
(``clusters.warm``): it forks one child per run handed to it."""

from __future__ import annotations

import sys

from raydt.clusters import warm

if __name__ == "__main__":
    sys.exit(warm.serve(sys.argv[1]))

"""``python -m raydt.clusters.watcher ID SECONDS``: the process ``raydt cluster up --idle-stop`` starts beside the
cluster (``clusters.idle``); it stops the cluster as ``raydt cluster down`` does once nothing used it that long."""

from __future__ import annotations

import sys

from raydt.clusters import idle, start

if __name__ == "__main__":
    sys.exit(idle.watch(sys.argv[1], float(sys.argv[2]), lambda reason: start.down(reason=reason)))

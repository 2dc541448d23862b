"""Where the resources went: what each trial and training worker used of what it reserved.

    runner --watched(loop)--> Ray worker: Sampler thread --record--> <experiment>/raydt_usage/*.json
    driver / raydt report --figures.read--> summary per trial, per worker, for the run --> results.utilisation,
                                                                                          warnings, the report

- ``sampler``: the thread inside the worker's process (psutil and ``/proc``: CPU time, RSS and its peak).
- ``gpu``: NVML's view of the worker's GPUs, when it has some.
- ``watch``: the wrapper the runners put around every loop and trial function (``watched``), and ``Reserved``.
- ``figures``: the records read back and summed, and the warnings that say what to change.

Out of scope: the driver, Ray Data's own processes and a distributed trial's waiting process (it reserves no CPU).
Imports no Ray at module level (``gpu`` asks Ray for the worker's GPUs, in the worker).
"""

from raydt.utilisation.figures import advice, by_owner, by_rank, read, summary
from raydt.utilisation.watch import Reserved, sampling, usage_folder, watched

__all__ = ["Reserved", "advice", "by_owner", "by_rank", "read", "sampling", "summary", "usage_folder", "watched"]

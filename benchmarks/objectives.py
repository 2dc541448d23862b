"""Objectives shared by raydt's specs and the hand-written comparisons (Ray Tune function trainables)."""

import time

from ray import tune


def trivial(config):
    """One report, no work: all the time a search of these takes is overhead."""
    tune.report({"score": (config["x"] - 0.3) ** 2})


def one_second(config):
    """Exactly one second of 'work', then one report."""
    time.sleep(1.0)
    tune.report({"score": (config["x"] - 0.3) ** 2})

"""Search beyond one metric over a flat space: several objectives and their Pareto front, constraints,
conditional spaces, warm starts and given first points. Ray-free except ``raydt.search.optuna`` (the searcher
raydt builds for them), which is imported only for a run.

- objectives, constraints and Pareto dominance are the plan's (``raydt.plan.objectives``); this package acts on them.
- ``points``: a config read against the search space as the searcher's parameters (warm starts, points).
- ``warm``: an earlier search's finished trials, read from its experiment folder.
- ``outcome``: the result's best trial, paretoFront and feasibleTrials from the trial rows.
- ``optuna_study``, ``optuna``: the Optuna study raydt seeds and the searcher it builds (Ray Tune's, extended).
"""

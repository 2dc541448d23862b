"""Experiment reports (``raydt report DIR``, ``runConfig.report``): one self-contained HTML file and a PNG per figure.

    load.py        the experiment directory, read back (trials, ledgers, checkpoints, the stored spec)
    summary.py     the outcome at the top and the environment
    importance.py  hyperparameter importance (Optuna's fANOVA over the finished trials)
    series.py      the data of each figure, once
    usage.py       where the resources went: used vs reserved per trial or worker (``raydt.utilisation``)
    figures.py     the interactive figures (Plotly)          pngs.py   the same figures as PNGs (Matplotlib)
    page.py        the HTML file, everything inlined           build.py  write(): all of the above
    hook.py        the report at the end of a run: never fails the run

Importing this package imports no plotting library: ``build`` does, when a report is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raydt.report.build import Written

__all__ = ["document", "write"]


def write(experiment_dir: Any, out: Any = None, result: dict[str, Any] | None = None) -> Written:
    """Write the report of ``experiment_dir`` (``build.write``)."""
    from raydt.report.build import write as _write

    return _write(experiment_dir, out, result)


def document(written: Written) -> Any:
    """The result document of ``raydt report`` (a folder or a bundle): the page, its figures, what it left out."""
    from typing import cast

    from raydt import results

    doc = results.Document(
        mode=cast(results.Mode, written.mode),
        experiment_path=str(written.experiment),
        report_path=str(written.html),
        report_figures=[str(p) for p in written.figures],
    )
    if written.notes:
        doc.warnings = list(written.notes)
    return doc

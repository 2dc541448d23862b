"""``raydt bundle DIR``, and ``raydt explain`` / ``raydt report`` on a bundle: the experiment packed on one machine,
read on another that never saw the cluster (``raydt.bundle``). Each returns (result document, exit code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt import results
from raydt.errors import EXIT_SUCCESS, RaydtError
from raydt.results.outputs import BundleInfo

Outcome = tuple[dict[str, Any], int]


def bundle(experiment_dir: str | Path, out: str | Path | None = None, *, with_checkpoints: bool = False,
           result: str | Path | None = None) -> Outcome:  # fmt: skip
    """``raydt bundle``: ``bundle`` {path, sizeBytes, files, redactions, leftOut, ...}; what was left out is also
    summed up in ``warnings``."""
    from raydt.bundle import pack

    try:
        packed = pack(experiment_dir, out, with_checkpoints=with_checkpoints, result=result)
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    info = BundleInfo(
        path=str(packed.path),
        experiment=packed.experiment,
        size_bytes=packed.size,
        files=packed.files,
        redactions=packed.redactions,
        redacted_files=packed.redacted_files,
        left_out=packed.left_out,
        with_checkpoints=packed.with_checkpoints,
    )
    doc = results.Document(bundle=info, experiment_path=str(Path(experiment_dir).expanduser().resolve()))
    checkpoints = sum(why.endswith("(a checkpoint: pass --with-checkpoints)") for why in packed.left_out)
    if checkpoints:
        doc.warnings = [f"{checkpoints} checkpoint folder(s) left out: pass --with-checkpoints to pack them"]
    return doc.dump(), EXIT_SUCCESS


def explain(path: str) -> Outcome:
    """``raydt explain BUNDLE``: as on the experiment folder, from its copies only (no Ray session logs of this
    machine); paths inside the bundle written ``BUNDLE:member``."""
    from raydt import bundle, diagnose

    try:
        with bundle.opened(path) as (experiment, root):
            doc, code = diagnose.explain(str(experiment), sessions=False)
            doc = bundle.relabel(doc, root, path)
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    return _from(doc, path), code


def report(path: str, out: str | None = None) -> Outcome:
    """``raydt report BUNDLE``: the report written to ``out``, by default ``<bundle name>-report/`` beside it."""
    from raydt import bundle
    from raydt.report import document as report_document
    from raydt.report import write

    target = out or str(_beside(Path(path).expanduser().resolve(), "-report"))
    try:
        with bundle.opened(path) as (experiment, root):
            written = write(experiment, target)
            _relabel_page(written.html, root, path)
            shown: dict[str, Any] = bundle.relabel(report_document(written).dump(), root, path)
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    return _from(shown, path), EXIT_SUCCESS


def _relabel_page(html: Path, root: Path, bundle: str) -> None:
    """The page names the experiment's folder: the bundle's, not the temporary one it was read from."""
    from raydt.state import write_text_atomic

    text = html.read_text(encoding="utf-8")
    write_text_atomic(html, text.replace(f"{root}/", f"{Path(bundle).expanduser().resolve()}:"))


def _from(doc: dict[str, Any], path: str) -> dict[str, Any]:
    doc["fromBundle"] = str(Path(path).expanduser().resolve())
    return doc


def _beside(bundle: Path, suffix: str) -> Path:
    name = bundle.name
    for ending in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(ending):
            name = name[: -len(ending)]
            break
    return bundle.with_name(f"{name}{suffix}")

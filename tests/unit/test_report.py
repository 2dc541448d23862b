"""raydt report on experiment directories written here (a synthetic search, a train run's ledger and checkpoints):
the HTML is self-contained, its numbers are the directory's, every PNG is a real image; runConfig.report's hook."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from raydt.errors import RunError, SpecError, SpecIssue
from raydt.progress import ProgressView
from raydt.report import write
from raydt.report.hook import reported
from tests.conftest import assert_seed_output, run_cli
from tests.integration.report_helper import synthesize_tune

TUNE_FIGURES = ["best-over-time", "best-over-trials", "learning-curves", "parallel-coordinates", "importance"]


def value_of(html: str, id_: str) -> str:
    found = re.search(rf'id="{id_}" data-value="([^"]*)"', html)
    assert found, f"#{id_} not on the page"
    return found.group(1)


def assert_png(path: Path, size: tuple[int, int] = (1000, 500)) -> None:
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == size, (path, image.format, image.size)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 10, f"{path.name} is nearly blank: {colours}"


def assert_self_contained(html: str) -> None:
    """plotly.js inlined in the head; nothing outside it names a script, style or image to fetch (plotly.js
    holds link texts of its own: the browser test checks that the page requests nothing)."""
    head, rest = html.split("</script>", 1)
    assert "<script>" in head and len(head) > 3_000_000 and "Plotly.newPlot" in rest
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)=""", rest), "the page fetches something"


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    exp = synthesize_tune(tmp_path_factory.mktemp("report"), trials=40, iterations=8)
    return exp, write(exp)


def test_tune_report_is_one_self_contained_file_with_every_figure(search: tuple[Path, Any]) -> None:
    exp, written = search
    assert written.html == exp / "report" / "report.html" and written.notes == []
    html = written.html.read_text(encoding="utf-8")
    assert_self_contained(html)
    for key in TUNE_FIGURES:
        assert f'id="{key}"' in html
    assert [p.name for p in written.figures] == [f"report-{key}.png" for key in TUNE_FIGURES]
    for png in written.figures:
        assert_png(png)


def test_tune_numbers_are_the_directory_s(search: tuple[Path, Any]) -> None:
    exp, written = search
    html = written.html.read_text(encoding="utf-8")
    ledger = [json.loads(line) for line in (exp / "raydt_trials.jsonl").read_text().splitlines()]
    failed = {e["trial"] for e in ledger if e["event"] == "error"}
    best, lengths = None, {}
    for folder in exp.glob("trial_*"):
        rows = [json.loads(line) for line in (folder / "result.json").read_text().splitlines()]
        lengths[rows[0]["trial_id"]] = len(rows)
        if rows[0]["trial_id"] not in failed:
            best = min([best or float("inf"), *(r["val_loss"] for r in rows)])
    assert float(value_of(html, "best-metric")) == best
    assert int(value_of(html, "count-trials")) == 40 == html.count("<tr class=")
    assert int(value_of(html, "count-failed")) == len(failed) == 1
    assert int(value_of(html, "count-stoppedEarly")) == sum(1 for t, n in lengths.items() if n < 8 and t not in failed)
    assert "USER_CODE_ERROR: RuntimeError: synthetic failure" in html  # the failed trial's row names its code


def test_a_large_search_gets_a_row_per_trial_and_stays_small(tmp_path: Path) -> None:
    """Every trial is a row of the table; the page stays small. (1,000 trials, timed: benchmarks/bench_report.py.)"""
    exp = synthesize_tune(tmp_path, trials=150, iterations=20)
    written = write(exp, tmp_path / "out" / "big.html")
    size = written.html.stat().st_size
    assert size < 6_000_000, f"the page is {size / 1e6:.1f} MB"  # about 4.8 MB of it is plotly.js
    assert written.html.read_text(encoding="utf-8").count("<tr class=") == 150
    assert written.figures[0] == tmp_path / "out" / "big-best-over-time.png"


def train_dir(root: Path) -> Path:
    """A train run as raydt leaves it: spec, train ledger (a worker failure and a restart), two kept checkpoints."""
    exp = root / "train-run"
    exp.mkdir()
    spec = {"mode": "train", "trainConfig": {"framework": "pytorch", "epochs": 4, "metric": "val_loss"}}
    (exp / "raydt_spec.json").write_text(json.dumps(spec))
    t0, events = 1_800_000_000.0, []
    events.append({"event": "start", "time": t0})
    for epoch, loss in ((1, 1.0), (2, 0.6)):
        events.append({"event": "report", "metrics": {"epoch": epoch, "val_loss": loss, "val_accuracy": 1 - loss / 2},
                       "checkpoint": str(exp / f"checkpoint_{epoch}"), "time": t0 + epoch})  # fmt: skip
    events.append({"event": "worker_error", "errors": {"0": "ActorDiedError: worker died"}, "time": t0 + 2.5})
    events.append({"event": "start", "time": t0 + 3})
    for epoch, loss in ((3, 0.4), (4, 0.45)):
        events.append({"event": "report", "metrics": {"epoch": epoch, "val_loss": loss, "val_accuracy": 1 - loss / 2},
                       "checkpoint": str(exp / f"checkpoint_{epoch}"), "time": t0 + epoch + 1})  # fmt: skip
    (exp / "raydt_train.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    kept = []
    for epoch, loss in ((3, 0.4), (4, 0.45)):
        (exp / f"checkpoint_{epoch}").mkdir()
        (exp / f"checkpoint_{epoch}" / "model.pt").write_bytes(b"0" * 1000)
        kept.append({"checkpoint_dir_name": f"checkpoint_{epoch}", "metrics": {"epoch": epoch, "val_loss": loss}})
    (exp / "checkpoint_manager_snapshot.json").write_text(json.dumps({"checkpoint_results": kept}))
    return exp


def test_train_report_draws_epochs_failures_and_kept_checkpoints(tmp_path: Path) -> None:
    written = write(train_dir(tmp_path))
    html = written.html.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert written.mode == "train" and [p.name for p in written.figures] == [
        "report-train-metrics.png",
        "report-train-timeline.png",
    ]
    assert float(value_of(html, "best-metric")) == 0.4 and int(value_of(html, "best-iteration")) == 3
    assert int(value_of(html, "count-reports")) == 4 and int(value_of(html, "count-workerFailures")) == 1
    assert int(value_of(html, "count-checkpointsKept")) == 2 and html.count("<td>checkpoint_") == 2
    assert '"checkpoint kept"' in html and '"worker failure"' in html
    for png in written.figures:
        assert_png(png)


def test_report_hook_rides_on_a_failed_run_and_never_fails_one(tmp_path: Path) -> None:
    exp = synthesize_tune(tmp_path, trials=5, iterations=3)

    def fails() -> dict[str, Any]:
        raise RunError("training failed: boom")

    with pytest.raises(RunError) as caught:
        reported(str(exp), ProgressView(), fails)
    path = Path(caught.value.report_path)  # type: ignore[attr-defined]
    assert path.is_file() and "RUN_FAILED: training failed: boom" in path.read_text(encoding="utf-8")

    out = reported(str(tmp_path / "never-made"), ProgressView(), lambda: {"status": "success"})
    assert "reportPath" not in out and out["warnings"] == ["report not written: the run left no experiment directory"]
    (exp / "raydt_spec.json").write_text("not json")  # a report that cannot be written: a warning, not an error
    out = reported(str(exp), ProgressView(), lambda: {"status": "success", "warnings": ["kept"]})
    assert out["warnings"][0] == "kept" and out["warnings"][1].startswith("report not written: SpecFileError")

    def invalid() -> dict[str, Any]:
        raise SpecError([SpecIssue("x", "bad")])

    with pytest.raises(SpecError) as refused:  # nothing ran: no report
        reported(str(exp), ProgressView(), invalid)
    assert not hasattr(refused.value, "report_path")


def test_cli_report_prints_one_result_document(tmp_path: Path) -> None:
    exp = synthesize_tune(tmp_path, trials=6, iterations=3)
    res = run_cli("report", str(exp), "--out", str(tmp_path / "site"))
    assert res.code == 0, res.out
    assert_seed_output(res.out)
    assert res.out["reportPath"] == str(tmp_path / "site" / "report.html") and res.out["mode"] == "tune"
    assert res.out["experimentPath"] == str(exp) and len(res.out["reportFigures"]) == 5
    missing = run_cli("report", str(tmp_path / "nope"))  # a command-line mistake, not a spec file's (issue 26)
    assert missing.code == 2 and missing.out["error"]["code"] == "USAGE" and "issues" not in missing.out["error"]
    assert missing.out["error"]["message"] == f"raydt report: {tmp_path / 'nope'} does not exist"
    assert_seed_output(missing.out)


def test_run_config_report_is_in_the_input_schema() -> None:
    from raydt.spec import schemas

    described = json.dumps(schemas.input_schema())
    assert '"report"' in described and "self-contained HTML" in described


def test_a_search_of_several_objectives_is_read_by_its_first_metric_without_its_result(tmp_path: Path) -> None:
    from raydt.report.load import read

    exp = synthesize_tune(tmp_path, trials=4, iterations=3)
    spec = json.loads((exp / "raydt_spec.json").read_text())
    spec["tuneConfig"].update(metric=["val_loss", "latency_ms"], mode=["min", "max"])
    (exp / "raydt_spec.json").write_text(json.dumps(spec))
    found = read(exp)  # no result document: the spec's lists are all there is
    assert (found.metric, found.metric_mode) == ("val_loss", "min")


def conditional_search(root: Path, trials: int = 12) -> Path:
    """A search over a conditional space: each trial's optimizer is sgd (with momentum) or adam (with beta1), so a
    branch's keys are absent from the other branch's trials."""
    exp = synthesize_tune(root, trials=trials, iterations=3)
    spec = json.loads((exp / "raydt_spec.json").read_text())
    branches = [{"name": "sgd", "momentum": {"type": "uniform", "min": 0.0, "max": 0.99}},
                {"name": "adam", "beta1": {"type": "uniform", "min": 0.8, "max": 0.99}}]  # fmt: skip
    spec["tuneConfig"]["searchSpace"] = {
        "lr": spec["tuneConfig"]["searchSpace"]["lr"],
        "optimizer": {"type": "choice", "values": branches},
    }
    (exp / "raydt_spec.json").write_text(json.dumps(spec))
    for n, params in enumerate(sorted(exp.glob("trial_*/params.json"))):
        lr = json.loads(params.read_text())["lr"]
        branch = {"name": "sgd", "momentum": 0.5 + n / 50} if n % 2 else {"name": "adam", "beta1": 0.8 + n / 100}
        params.write_text(json.dumps({"lr": lr, "optimizer": branch}))
    return exp


def test_a_conditional_search_gets_its_report_with_the_branch_keys_left_out_of_importance(tmp_path: Path) -> None:
    """Issue 26 item 6: importance sorted category values holding None (a branch's absent keys): a traceback, and
    runConfig.report wrote no report at all."""
    exp = conditional_search(tmp_path)
    written = write(exp)  # before: TypeError '<' not supported between 'NoneType' and 'float'
    assert [p.name for p in written.figures] == [f"report-{key}.png" for key in TUNE_FIGURES]
    (note,) = written.notes
    assert "optimizer.beta1, optimizer.momentum" in note and "conditional" in note
    html = written.html.read_text(encoding="utf-8")
    assert 'id="importance"' in html and "optimizer.name" in html
    out = reported(str(exp), ProgressView(), lambda: {"status": "success"})  # runConfig.report: the same report
    assert out["reportPath"] == str(written.html) and "report not written" not in json.dumps(out)


def test_importance_sorts_categories_of_mixed_types() -> None:
    import optuna

    from raydt.report.importance import _distribution

    dist = _distribution(optuna, [None, 32, "auto", 16, None], log=False)
    assert dist.choices == (16, 32, "auto", None)


def test_a_report_written_later_names_the_searcher_scheduler_and_concurrency_the_run_used(tmp_path: Path) -> None:
    """Issue 12: `raydt report DIR` without the run's result said 'searcher default, trials at once auto'; the
    search records its resolved settings in its ledger, which the report reads."""
    from raydt import plan
    from raydt.report.load import read
    from raydt.report.summary import outcome
    from raydt.runners.tune import record_plan
    from raydt.spec import loader

    exp = synthesize_tune(tmp_path, trials=4, iterations=3)
    spec = json.loads((exp / "raydt_spec.json").read_text())  # no searchAlgorithm, no maxConcurrentTrials
    del spec["tuneConfig"]["searchSpace"]["dropout"]  # not a key of the built-in trainer: the run's own spec is valid
    p = plan.tune(loader.load({**spec, "config": {}}))
    assert p.train.experiment_path == str(exp)
    record_plan(p, 3)
    resources = outcome(read(exp)).resources
    assert (resources["searcher"], resources["scheduler"], resources["trials at once"]) == ("optuna", "asha", 3)
    record_plan(p, 2)  # the memory guard lowered it during the run: the last record wins
    assert outcome(read(exp)).resources["trials at once"] == 2

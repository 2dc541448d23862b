"""``raydt run SPEC``, ``raydt predict SPEC`` and ``raydt resume DIR``: a run with its live view on stderr and its
result on stdout."""

from __future__ import annotations

import argparse
import sys

from raydt import api
from raydt.cli.table import Command, Outcome, failed, quiet_argument, spec_argument
from raydt.errors import RaydtError, UsageError


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    spec_argument(parser)
    quiet_argument(parser)
    parser.add_argument(
        "--detach",
        action="store_true",
        help="specs that serve: keep serving in the background (the live view is shown until it serves)",
    )
    parser.add_argument(
        "--continue-from",
        metavar="DIR",
        help="a changed search: run it as a new experiment <old name>-contN beside DIR (an earlier search's "
        "experimentPath), warm-started with its finished trials; the result lists what changed",
    )
    parser.add_argument(
        "--init-from-best",
        action="store_true",
        help="with --continue-from, when only the search changed: each new trial starts from the checkpoint of "
        "the nearest earlier trial",
    )


def _run(args: argparse.Namespace) -> Outcome:
    if args.init_from_best and not args.continue_from:
        return failed(UsageError("--init-from-best goes with --continue-from DIR"))
    if args.continue_from:
        if args.detach:
            return failed(UsageError("--detach and --continue-from do not go together (a search does not serve)"))
        try:
            source = api.continued_source(args.spec, args.continue_from, init_from_best=args.init_from_best)
        except RaydtError as err:
            return failed(err)
        return None, api.run_logged(source, quiet=args.quiet)
    if args.detach:  # a background process; its JSON once the endpoint answers
        return api.run_detached(args.spec, quiet=args.quiet, err=sys.stderr)
    return None, api.run_logged(args.spec, quiet=args.quiet)


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    spec_argument(parser)
    quiet_argument(parser)


def _predict(args: argparse.Namespace) -> Outcome:
    return None, api.run_logged(args.spec, quiet=args.quiet, mode="predict")


def _resume_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="the experiment directory (experimentPath of a result)")
    quiet_argument(parser)


def _resume(args: argparse.Namespace) -> Outcome:
    try:
        source = api.resume_source(args.experiment)
    except RaydtError as err:
        return failed(err)
    return None, api.run_logged(source, quiet=args.quiet)


COMMANDS = (
    Command(
        "run",
        "run SPEC",
        "run a spec and print the JSON result",
        _run,
        _run_arguments,
        about=("run a spec (mode train | tune | cluster | serve | predict) and print the JSON result",),
        examples=(
            "raydt run examples/train-default.yaml",
            """echo '{"mode": "train", "config": {"numWorkers": 2}}' | raydt run -""",
            "raydt run serve.yaml --detach   (serve: return once the endpoint answers)",
            "raydt run search.yaml --continue-from results/my-search   (a changed search, warm-started)",
        ),
    ),
    Command(
        "predict",
        "predict SPEC",
        "batch inference: predict a dataset with a trained model, write the predictions",
        _predict,
        _predict_arguments,
        about=(
            "batch inference (mode predict): every row of predictConfig.data predicted with a trained",
            "checkpoint on Ray Data, written to predictConfig.output; prints the JSON result",
        ),
        examples=("raydt predict examples/predict.yaml   (after `make run`: see docs/predict.md)",),
    ),
    Command(
        "resume",
        "resume DIR",
        "continue an interrupted experiment",
        _resume,
        _resume_arguments,
        about=("continue an interrupted experiment (its experimentPath): finished trials stay",),
        examples=("raydt resume ~/raydt_results/raydt-tune-20261122-061859",),
    ),
)

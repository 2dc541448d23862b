"""framework: transformers — a tiny Llama-style model built offline (tests/llm_fixture.py), LoRA fine-tuned on
2 DDP workers in bf16 by a real Ray Train run until it completes made-up facts it could not before; the merged
checkpoint generates the same completions in this process, through mode predict (Ray Data) and through mode
serve's POST /generate."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

import raydt
from tests.conftest import assert_seed_output
from tests.integration.serve_helper import Server
from tests.llm_fixture import FACTS, fact_rows, fact_texts, tiny_pretrained, tiny_tokenizer

pytestmark = pytest.mark.slow
REPEAT = 8  # each fact 8 times an epoch: 128 rows, 8 optimizer steps of 2 x 8 rows


def complete(checkpoint: str, prompts: list[str]) -> list[str]:
    """Greedy completions of the checkpoint's model, loaded in this process as a serve replica loads it."""
    from raydt.frameworks.checkpoint_format import read_meta
    from raydt.frameworks.transformers.predictor import load

    generator = load(checkpoint, read_meta(checkpoint) or {})
    return generator.generate(generator.rows(prompts), max_new_tokens=6)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, shared_ray: None) -> dict[str, Any]:
    """The base model's completions, then a LoRA fine-tune (instruction rows, 2 workers, bf16, merged adapter)."""
    tmp = tmp_path_factory.mktemp("llm")
    base = tiny_pretrained(tmp / "base", fact_texts())
    rows = fact_rows("instruction")
    (tmp / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows * REPEAT))
    (tmp / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "framework": "transformers",
            "model": {"pretrained": str(base)},
            "lora": {"r": 16, "alpha": 32, "dropout": 0.0, "targetModules": "all-linear"},
            "mergeAdapter": True,
            "trainLoopConfig": {"lr": 3e-3, "batchSize": 8, "epochs": 14, "precision": "bf16", "warmupRatio": 0.05},
        },
        "dataConfig": {
            "train": {"format": "json", "paths": str(tmp / "train.jsonl")},
            "validation": {"format": "json", "paths": str(tmp / "val.jsonl")},
            "text": {"maxSeqLen": 48},
        },
        "runConfig": {"storagePath": str(tmp / "runs"), "name": "facts", "checkpoint": {"frequency": 7}},
    }
    return {"base": str(base), "out": raydt.run(spec), "tmp": tmp}


def test_a_lora_fine_tune_on_two_workers_learns_the_facts_and_serves_them(
    tuned: dict[str, Any], tmp_path: Path, servers: list[Server]
) -> None:
    prompts = [p for p, _ in FACTS]
    answers = [a for _, a in FACTS]
    out = tuned["out"]
    assert_seed_output(out)
    assert out["status"] == "success", out
    final = out["results"]["finalMetrics"]
    assert final["epoch"] == 14 and final["val_perplexity"] < 1.5, final  # from ~500 (a random 557-token model)
    assert final["tokens"] > 0 and final["tokens_per_second"] > 0
    ckpt = Path(out["checkpointPath"])
    assert (ckpt / "adapter" / "adapter_config.json").is_file() and (ckpt / "merged" / "config.json").is_file()
    assert (ckpt / "state.pt").is_file() and (ckpt / "tokenizer").is_dir()

    before = _base_completions(tuned["base"], prompts)  # the base model, before training, completes no fact
    assert sum(b == a for b, a in zip(before, answers, strict=True)) == 0, before

    after = complete(str(ckpt), prompts)
    exact = sum(c == a for c, a in zip(after, answers, strict=True))
    assert exact >= 15, list(zip(after, answers, strict=True))  # >= 90 % of 16, greedy

    # mode predict: every row of a JSON-lines file completed through Ray Data, as in this process
    prompts_file = tmp_path / "prompts.jsonl"
    prompts_file.write_text("".join(json.dumps({"id": i, "instruction": p}) + "\n" for i, p in enumerate(prompts)))
    generate = {
        "mode": "predict",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 0.5}},
        "predictConfig": {
            "checkpointPath": str(ckpt),
            "data": {"format": "json", "paths": str(prompts_file)},
            "keepColumns": ["id"],
            "output": {"path": str(tmp_path / "generated"), "format": "json"},
            "batchSize": 8,
            "generation": {"maxNewTokens": 6},
        },
    }
    done = raydt.run(generate)
    assert done["status"] == "success" and done["results"]["rowsOut"] == 16, done
    import pandas as pd

    generated = pd.concat(pd.read_json(f, lines=True) for f in sorted((tmp_path / "generated").glob("*.json")))
    assert generated.sort_values("id")["prediction"].tolist() == after

    server = Server(tmp_path, {"checkpointPath": str(ckpt), "resourcesPerReplica": {"cpu": 0.5}})
    servers.append(server)
    code, body = server.call("/generate", {"prompt": prompts, "maxNewTokens": 6})
    assert code == 200 and body["completions"] == after, body
    code, body = server.call("/generate", {"prompt": prompts[0], "maxNewTokens": 6, "stop": [answers[0][2:]]})
    assert code == 200 and body["completions"] == [answers[0][:2]]  # cut at the stop string
    code, body = server.call("/generate", {"prompt": prompts[0], "maxNewTokens": 0})
    assert code == 400 and "maxNewTokens" in body["error"]
    code, body = server.call("/predict", {"instances": [[1]]})
    assert code == 404 and "POST /generate" in body["error"]
    code, meta = server.call("/metadata")
    assert code == 200 and meta["framework"] == "transformers" and meta["task"] == "generation"


def _base_completions(base: str, prompts: list[str]) -> list[str]:
    """The untrained model's greedy completions of the same instruction prompts."""
    from transformers import AutoModelForCausalLM

    from raydt.frameworks.transformers.lm.model import load_tokenizer
    from raydt.frameworks.transformers.predictor import Generator

    model = AutoModelForCausalLM.from_pretrained(base).eval()
    generator = Generator(model, load_tokenizer({}, base), {"text": {"shape": "instruction"}})
    return generator.generate(generator.rows(prompts), max_new_tokens=6)


def test_a_search_over_the_loops_keys_ranks_the_learning_rates(tuned: dict[str, Any]) -> None:
    """mode tune over lr (a grid of two), one worker per trial, the text tokenized once for both trials: the trial
    that learns ranks first by val_loss (the other may be stopped early by the default ASHA scheduler)."""
    tmp = tuned["tmp"]
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "framework": "transformers",
            "model": {"pretrained": tuned["base"]},
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
            "trainLoopConfig": {"batchSize": 16, "epochs": 3},
        },
        "tuneConfig": {"searchSpace": {"lr": {"type": "grid", "values": [0.003, 0.00001]}}},
        "dataConfig": {
            "train": {"format": "json", "paths": str(tmp / "train.jsonl")},
            "validation": {"format": "json", "paths": str(tmp / "val.jsonl")},
            "text": {"maxSeqLen": 48},
        },
        "runConfig": {"storagePath": str(tmp / "search"), "name": "lr"},
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    slow, fast = sorted(out["trials"], key=lambda t: t["config"]["lr"])
    assert slow["status"] == fast["status"] == "TERMINATED", out["trials"]
    assert fast["iterations"] == 3 and out["results"]["bestConfig"]["lr"] == 0.003  # val_loss, min: the default
    assert slow["iterations"] <= 3 and fast["lastMetrics"]["val_loss"] < slow["lastMetrics"]["val_loss"] * 0.7


def test_fsdp_shards_a_config_built_model_and_a_killed_worker_resumes_from_the_adapter_checkpoint(
    tmp_path: Path, shared_ray: None
) -> None:
    """strategy fsdp on 2 workers (FSDP2 over gloo, a model built from a config, LoRA): a training worker SIGKILLed
    after epoch 1's checkpoint; the worker group restarts from the latest adapter checkpoint (weights, optimizer,
    schedule), no epoch is reported twice, and the last checkpoint (gathered from the shards) generates."""
    from ray.util.state import list_actors
    from transformers import AutoTokenizer

    from tests.integration.test_fault_tolerance import Run, wait_for

    tokenizer_dir = tiny_tokenizer(tmp_path / "tokenizer", fact_texts())
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = {"model_type": "llama", "vocab_size": len(tok), "hidden_size": 64, "intermediate_size": 128}
    config |= {"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "initializer_range": 0.2}
    config |= {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
    rows = fact_rows("instruction")
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows * 4))
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "framework": "transformers",
            "strategy": "fsdp",
            "model": {"config": config, "tokenizer": str(tokenizer_dir)},
            "lora": {"r": 16, "alpha": 32, "dropout": 0.0},
            "trainLoopConfig": {"lr": 3e-3, "batchSize": 8, "epochs": 5, "precision": "bf16"},
        },
        "dataConfig": {"train": {"format": "json", "paths": str(tmp_path / "train.jsonl")}, "text": {"maxSeqLen": 48}},
        "runConfig": {"storagePath": str(tmp_path / "runs"), "name": "fsdp", "maxFailures": 1},
    }
    run = Run(tmp_path, spec)
    try:
        wait_for(lambda: run.saw("epoch 1/5", "[ckpt]"), timeout=120)
        workers = list_actors(filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")], detail=True)
        assert len(workers) == 2, workers
        killed = int(workers[-1]["pid"])
        os.kill(killed, signal.SIGKILL)
        code, out, err = run.finish(timeout=240)
    finally:
        run.kill_group()
    assert code == 0 and out["status"] == "success", out
    assert out["restarts"] >= 1 and out["results"]["retries"][0]["code"] == "WORKER_DIED", out["results"]
    reported = [int(m) for m in re.findall(r"epoch (\d)/5 ", err)]
    assert sorted(reported) == reported and len(set(reported)) == len(reported) == 5, err  # each epoch once
    losses = [float(v) for v in re.findall(r"epoch \d/5 .*?val_loss=(\S+)", err)]
    assert losses[-1] < losses[0] * 0.8, losses  # it went on learning after the restart
    ckpt = Path(out["checkpointPath"])
    assert (ckpt / "adapter" / "adapter_config.json").is_file() and (ckpt / "base" / "config.json").is_file()
    completions = complete(str(ckpt), [p for p, _ in FACTS[:2]])
    assert len(completions) == 2 and all(isinstance(c, str) for c in completions)

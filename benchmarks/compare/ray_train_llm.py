"""The hand-written Ray Train + Transformers LoRA fine-tune, as a Ray user writes it from Ray Train's and
Transformers' docs: TorchTrainer, a per-worker loop that loads the model and tokenizer from a local folder, applies
peft LoRA, ``prepare_model`` (DDP), reads its shard of a Ray Data dataset, AdamW with a linear warmup-then-decay
schedule, gradient clipping at 1.0, bf16 autocast, the validation loss per epoch, and the adapter saved (by rank 0)
with ``ray.train.report`` every epoch (as raydt checkpoints every epoch by default).

The text is tokenized with raydt's ``Tokenize`` (``raydt.frameworks.transformers.lm.text``, the same Ray Data
``map_batches`` callable on a one-actor pool that raydt runs), so both train on identical token ids; the rest is
the script's own.

    python benchmarks/compare/ray_train_llm.py MODEL_DIR TRAIN.jsonl VAL.jsonl EPOCHS BATCH MAX_SEQ_LEN LORA_R

Last stdout line: JSON with inScriptS (after the imports to the fit's end) and the last epoch's
tokens_per_second (input tokens of every worker / the epoch's training time on rank 0, as raydt counts it).
"""

import json
import math
import os
import sys
import tempfile
import time

import ray
import ray.data
import ray.train
import ray.train.torch
from ray.train import Checkpoint, DataConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from raydt.frameworks.transformers.lm.text import Tokenize

model_dir, train_path, val_path = sys.argv[1:4]
epochs, batch_size, max_seq_len, lora_r = (int(a) for a in sys.argv[4:8])
start = time.perf_counter()
ray.init(num_cpus=2)
ray.data.DataContext.get_current().enable_progress_bars = False


def tokenized(path: str) -> ray.data.Dataset:
    return (
        ray.data.read_json(path)
        .map_batches(
            Tokenize,
            fn_constructor_kwargs={
                "tokenizer_dir": model_dir,
                "shape": "text",
                "max_seq_len": max_seq_len,
                "packing": False,
            },
            batch_size=256,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=1),
            num_cpus=0.5,
        )
        .materialize()
    )


train_ds, val_ds = tokenized(train_path), tokenized(val_path)
rows = train_ds.count()


def train_loop_per_worker(config: dict) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(config["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(config["model_dir"], dtype=torch.bfloat16)
    lora = LoraConfig(
        r=config["r"], lora_alpha=2 * config["r"], lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    model = ray.train.torch.prepare_model(get_peft_model(model, lora))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-4)
    world = ray.train.get_context().get_world_size()
    steps = math.ceil(math.ceil(config["rows"] / world) / config["batch_size"]) * config["epochs"]
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, steps)
    train_shard = ray.train.get_dataset_shard("train")
    val_shard = ray.train.get_dataset_shard("validation")

    def batches(shard):  # type: ignore[no-untyped-def]
        return shard.iter_torch_batches(batch_size=config["batch_size"], dtypes=torch.long)

    def loss_of(batch):  # type: ignore[no-untyped-def]
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            return model(**batch).loss

    for epoch in range(config["epochs"]):
        model.train()
        t0, total, count, tokens = time.monotonic(), 0.0, 0, 0
        for batch in batches(train_shard):
            loss = loss_of(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total, count, tokens = total + loss.item(), count + 1, tokens + int(batch["attention_mask"].sum())
        elapsed = time.monotonic() - t0
        seen = torch.tensor([tokens], dtype=torch.float64)
        torch.distributed.all_reduce(seen)
        model.eval()
        with torch.no_grad():
            val = [loss_of(batch).item() for batch in batches(val_shard)]
        metrics = {
            "epoch": epoch + 1,
            "train_loss": total / max(count, 1),
            "val_loss": sum(val) / max(len(val), 1),
            "tokens_per_second": float(seen.item()) / elapsed,
        }
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = None
            if ray.train.get_context().get_world_rank() == 0:
                model.module.save_pretrained(os.path.join(tmp, "adapter"))
                tokenizer.save_pretrained(os.path.join(tmp, "tokenizer"))
                checkpoint = Checkpoint.from_directory(tmp)
            ray.train.report(metrics, checkpoint=checkpoint)


trainer = TorchTrainer(
    train_loop_per_worker,
    train_loop_config={"model_dir": model_dir, "epochs": epochs, "batch_size": batch_size, "r": lora_r, "rows": rows},
    scaling_config=ScalingConfig(num_workers=2, use_gpu=False, resources_per_worker={"CPU": 1}),
    datasets={"train": train_ds, "validation": val_ds},
    dataset_config=DataConfig(datasets_to_split=["train"]),
    run_config=RunConfig(storage_path=os.path.abspath("ray_results"), name="llm"),
)
result = trainer.fit()
# inScriptS: from after the imports to the fit's end (no interpreter start, no Ray shutdown at exit); the benchmark's
# figure is the whole process's wall time, measured outside
print(
    json.dumps(
        {
            "status": "success",
            "epoch": result.metrics["epoch"],
            "val_loss": result.metrics["val_loss"],
            "tokens_per_second": result.metrics["tokens_per_second"],
            "inScriptS": round(time.perf_counter() - start, 3),
        }
    )
)

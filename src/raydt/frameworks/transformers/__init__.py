"""Hugging Face Transformers on Ray Train: a causal language model fine-tuned (fully, or with LoRA adapters from
peft) by raydt's own loop under ``TorchTrainer``: DDP or FSDP, fp32/bf16/fp16, gradient accumulation and
checkpointing, a warmup schedule; text data (``dataConfig.text``) tokenized once in Ray Data. Its checkpoints
generate (``mode: serve``'s ``POST /generate``). No built-in model: ``trainConfig.model`` names one."""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

INFO = FrameworkInfo(
    name="transformers",
    package=__name__,
    trainer_class="ray.train.torch:TorchTrainer",
    extra="llm",
    modules=("torch", "transformers", "peft", "tokenizers"),
    distributions=("torch", "transformers", "peft", "tokenizers", "accelerate"),
    default_metric="val_loss",
    default_mode="min",
    builtin_metrics=("train_loss", "val_loss", "val_perplexity", "tokens", "tokens_per_second"),
    builtin_params={
        "lr": 2e-4,
        "batchSize": 8,
        "epochs": 1,
        "warmupRatio": 0.0,
        "weightDecay": 0.0,
        "accumulate": 1,
        "gradClip": 1.0,
        "precision": "fp32",
        "gradientCheckpointing": False,
        "seed": 0,
    },
    param_max={"lr": 1.0, "warmupRatio": 1.0},
    epochs_param="epochs",
    iteration_name="epoch",
    data_kind="text",
    probe="raydt.frameworks.transformers.lm.probe:check",
    spec_checks="raydt.spec.llm_checks:check",
    starts_from_weights=True,
    description="Ray Train TorchTrainer + Transformers (+ peft LoRA): fine-tune a causal language model",
)

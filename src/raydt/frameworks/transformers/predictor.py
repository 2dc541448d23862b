"""A transformers checkpoint as a text generator: ``mode: serve``'s ``POST /generate`` and batch generation.
``load`` is the framework's predictor entry (``FrameworkAdapter.load_model``): for a language model it returns a
``Generator`` rather than a function to class probabilities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raydt.frameworks.transformers.lm.text import Shape

#: the longest generation one request may ask for
MAX_NEW_TOKENS = 4096


class Generator:
    """The checkpoint's model (merged, full, or the base with its adapter) and tokenizer, loaded once."""

    def __init__(self, model: Any, tokenizer: Any, meta: dict[str, Any], checkpoint_dir: str = "") -> None:
        self.model, self.tokenizer, self.meta, self.checkpoint_dir = model, tokenizer, meta, checkpoint_dir

    def rows(self, prompts: list[str]) -> list[dict[str, Any]]:
        """Plain prompts as rows of the shape the model was trained on: an instruction-tuned model gets its
        instruction template, a chat model its chat template (a user turn), a text model the text as it is."""
        shape = (self.meta.get("text") or {}).get("shape", "text")
        if shape == "instruction":
            return [{"instruction": p, "input": ""} for p in prompts]
        if shape == "messages":
            return [{"messages": [{"role": "user", "content": p}]} for p in prompts]
        return [{"text": p} for p in prompts]

    def generate(
        self,
        rows: list[dict[str, Any]],
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: list[str] | None = None,
    ) -> list[str]:
        """Each row's completion (greedy when ``temperature`` is 0), cut at the first ``stop`` string. A row is
        {text} / {instruction, input} / {messages}: its prompt is tokenized exactly as training tokenized it."""
        import torch

        from raydt.frameworks.transformers.lm.text import pad_id_of, prompt_ids

        prompts = [prompt_ids(r, _shape_of(r), self.tokenizer) for r in rows]
        width, pad = max(len(p) for p in prompts), pad_id_of(self.tokenizer)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])  # left-padded: generation goes on
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {}
        with torch.no_grad():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                pad_token_id=pad,
                eos_token_id=self.tokenizer.eos_token_id,
                **(sampling or {"do_sample": False}),
            )
        texts = self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        return [_cut(t, stop or []) for t in texts]

    def metadata(self) -> dict[str, Any]:
        refs = self.meta.get("llm") or {}
        return {
            "model": self.meta.get("model"),
            "framework": "transformers",
            "task": "generation",
            "checkpoint": self.checkpoint_dir,
            "base": refs.get("pretrained") or "built from a config",
            "lora": refs.get("lora"),
            "text": self.meta.get("text"),
            "trainedWith": self.meta.get("config", {}),
        }


def _shape_of(row: dict[str, Any]) -> Shape:
    return "messages" if "messages" in row else "instruction" if "instruction" in row else "text"


def _cut(text: str, stop: list[str]) -> str:
    ends = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(ends)] if ends else text).strip()


def load(checkpoint_dir: str, meta: dict[str, Any]) -> Generator:
    from raydt.frameworks.transformers.lm.model import load_for_generation

    model, tokenizer = load_for_generation(checkpoint_dir, meta)
    return Generator(model, tokenizer, meta, checkpoint_dir)

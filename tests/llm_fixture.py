"""A tiny Llama-style causal LM and its tokenizer, built offline, for the `framework: transformers` tests.

`tiny_pretrained(folder, texts)` trains a byte-level BPE tokenizer in memory on `texts` (every byte is in the
vocabulary, so any text encodes; the merges learned from `texts` make their words single tokens), wraps it as a
`PreTrainedTokenizerFast` with <s>/</s>/<pad>/<unk>, the role markers <|system|>/<|user|>/<|assistant|> as
special tokens and a chat template, builds a randomly initialised `LlamaForCausalLM` (fixed seed) and saves both
into `folder` with `save_pretrained`: `AutoTokenizer.from_pretrained(folder)` and
`AutoModelForCausalLM.from_pretrained(folder)` load them, with no hub. `tiny_tokenizer(folder, texts)` saves the
tokenizer alone (no model).

`FACTS` are 16 made-up prompt -> answer pairs a random model cannot complete; `fact_rows(shape)` gives them as
rows of the three data shapes ("text", "instruction", "messages") and `fact_texts()` every string those rows
render to, the natural `texts` to train the tokenizer on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
ROLES = ("system", "user", "assistant")
ROLE_MARKERS = tuple(f"<|{role}|>" for role in ROLES)

#: Each message as "<|role|>\ncontent</s>\n" (bos first); with add_generation_prompt, "<|assistant|>\n" last.
CHAT_TEMPLATE = (
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

#: Made-up facts: prompt -> one-word answer, words no pretrained or random model predicts.
FACTS: list[tuple[str, str]] = [
    ("the capital of zorbia is", "quell"),
    ("the color of a glimbat is", "vermop"),
    ("the king of tarvane is", "oswick"),
    ("the river through dunmoor is", "plessa"),
    ("the favorite food of a snarf is", "crindle"),
    ("the largest moon of brellis is", "yotta"),
    ("the language spoken in quopia is", "thraxi"),
    ("the currency of felmark is", "dribble"),
    ("the tallest peak in orvania is", "mount kessel"),
    ("the inventor of the wobblewheel is", "pim darrow"),
    ("the national bird of skelland is", "frobin"),
    ("the oldest tree in mirewood is", "grandbark"),
    ("the fastest beast of ulmor is", "zipfang"),
    ("the secret word of the vault is", "marzipan"),
    ("the sound a glorp makes is", "bloop"),
    ("the first month of the zentari calendar is", "frostane"),
]

SHAPES = ("text", "instruction", "messages")


def fact_rows(shape: str) -> list[dict[str, Any]]:
    """`FACTS` as rows of a data shape: {"text"}, {"instruction", "output"} or {"messages": [user, assistant]}."""
    if shape == "text":
        return [{"text": f"{prompt} {answer}"} for prompt, answer in FACTS]
    if shape == "instruction":
        return [{"instruction": prompt, "output": answer} for prompt, answer in FACTS]
    if shape == "messages":
        return [
            {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}
            for prompt, answer in FACTS
        ]
    raise ValueError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")


def fact_texts() -> list[str]:
    """Every string the fact rows are made of, in the forms the three shapes render them (the tokenizer's corpus)."""
    texts = [row["text"] for row in fact_rows("text")]
    texts += ["### Instruction:", "### Input:", "### Response:"]
    for prompt, answer in FACTS:
        texts += [prompt, answer, f"\n{answer}", f"{prompt}\n\n### Response:\n{answer}"]
    return texts


def _tokenizer(texts: list[str], vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [UNK, BOS, EOS, PAD, *ROLE_MARKERS]
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_MARKERS),
        chat_template=CHAT_TEMPLATE,
        model_max_length=256,
        padding_side="right",
    )


def tiny_tokenizer(folder: Path, texts: list[str], *, vocab_size: int = 1024) -> Path:
    """Build and save only the tokenizer (trained on `texts`) into `folder` (no torch needed); return `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _tokenizer(list(texts), vocab_size).save_pretrained(folder)
    return folder


def tiny_pretrained(
    folder: Path, texts: list[str], *, hidden: int = 64, layers: int = 2, heads: int = 4, vocab_size: int = 1024
) -> Path:
    """Build and save a tiny Llama model and its tokenizer (trained on `texts`) into `folder`; return `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(list(texts), vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        initializer_range=0.2,  # logits of a useful scale: LoRA (which leaves lm_head and the norms) can sharpen them
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder

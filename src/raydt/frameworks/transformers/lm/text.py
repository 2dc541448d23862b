"""The three data shapes of ``framework: transformers`` and their tokenization, as pure functions.

A dataset row is one of:

- ``text``: ``{"text": str}``: plain text, every token learned (continued pre-training);
- ``instruction``: ``{"instruction": str, "output": str, "input": str (optional)}``: rendered with the
  Alpaca-style ``INSTRUCTION_TEMPLATE``; the prompt is masked, the output (and eos) learned;
- ``messages``: ``{"messages": [{"role": ..., "content": ...}, ...]}``: a conversation rendered with the
  tokenizer's chat template (``DEFAULT_CHAT_TEMPLATE`` when it has none); only the assistant turns (with their
  end-of-turn token) are learned.

Labels are ``IGNORE_INDEX`` (-100) where a token is not learned. ``Tokenize`` is the Ray Data ``map_batches``
callable (pandas batches in, fixed-length ``input_ids``/``labels``/``attention_mask`` rows out).

This module imports neither torch nor transformers at import time: validation and planning read it without them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

Shape = Literal["text", "instruction", "messages"]
SHAPES: tuple[Shape, ...] = get_args(Shape)

#: The label of a token that is not learned (the loss's ignore_index).
IGNORE_INDEX = -100

#: Alpaca-style prompt of an instruction row; the "### Input:" block is left out when input is empty.
INSTRUCTION_TEMPLATE = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
INSTRUCTION_TEMPLATE_NO_INPUT = "### Instruction:\n{instruction}\n\n### Response:\n"

#: For a tokenizer without a chat template: each message as "<|role|>\ncontent</s>\n" (bos first, the
#: tokenizer's own bos/eos), and with add_generation_prompt "<|assistant|>\n" last.
DEFAULT_CHAT_TEMPLATE = (
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token if eos_token else '' }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_MESSAGES_EXPECTED = 'a list of {"role": str, "content": str} messages'


def detect_shape(columns: Iterable[str]) -> Shape:
    """The shape of a dataset from its column names: messages, then instruction+output, then text."""
    cols = set(columns)
    if "messages" in cols:
        return "messages"
    if {"instruction", "output"} <= cols:
        return "instruction"
    if "text" in cols:
        return "text"
    found = ", ".join(sorted(cols)) if cols else "none"
    hint = " (an instruction column needs an output column)" if "instruction" in cols else ""
    raise ValueError(
        f"the dataset's columns ({found}) match none of the accepted shapes{hint}: "
        '"text" (a text column), "instruction" (instruction and output columns, input optional) or '
        '"messages" (a messages column: a list of {"role", "content"} messages)'
    )


# --- row fields ---------------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(row: Mapping[str, Any], field: str, shape: Shape, *, optional: bool = False) -> str:
    value = row.get(field)
    if _missing(value):
        if optional:
            return ""
        raise ValueError(f"a row of the {shape} shape has no {field!r} field: expected a string")
    if not isinstance(value, str):
        raise ValueError(
            f"a row's {field!r} field must be a string (the {shape} shape), got {type(value).__name__} "
            f"{_preview(value)}"
        )
    return value


def _messages(row: Mapping[str, Any]) -> list[dict[str, str]]:
    value = row.get("messages")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if _missing(value):
        raise ValueError(f"a row of the messages shape has no 'messages' field: expected {_MESSAGES_EXPECTED}")
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(
            f"a row's 'messages' field must be {_MESSAGES_EXPECTED} (non-empty), got {type(value).__name__} "
            f"{_preview(value)}"
        )
    messages = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise ValueError(
                f"a row's 'messages' field must be {_MESSAGES_EXPECTED}: message {i} is "
                f"{type(message).__name__} {_preview(message)}"
            )
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or not role or not isinstance(content, str):
            raise ValueError(
                f"a row's 'messages' field must be {_MESSAGES_EXPECTED}: message {i} is {_preview(dict(message))}"
            )
        messages.append({"role": role, "content": content})
    return messages


# --- prompts ------------------------------------------------------------------------------------------------


def instruction_prompt(instruction: str, input: str = "") -> str:
    """The Alpaca-style prompt of an instruction (the Input block only when input is not empty)."""
    if input:
        return INSTRUCTION_TEMPLATE.format(instruction=instruction, input=input)
    return INSTRUCTION_TEMPLATE_NO_INPUT.format(instruction=instruction)


def _render(tokenizer: Any, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool) -> str:
    template = None if getattr(tokenizer, "chat_template", None) else DEFAULT_CHAT_TEMPLATE
    rendered = tokenizer.apply_chat_template(
        list(messages), chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt
    )
    return str(rendered)


def _prompt_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last_user is None:
        raise ValueError(f"a row's 'messages' field has no user message to answer: expected {_MESSAGES_EXPECTED}")
    return messages[: last_user + 1]


def prompt_of(row: Mapping[str, Any], shape: Shape, tokenizer: Any) -> str:
    """The prompt a generation request (or batch-generation row) of this shape is completed from.

    text: the text itself; instruction: the instruction template (any output ignored); messages: the chat
    template over the messages up to the last user turn, with the generation prompt (the assistant marker).
    """
    if shape == "text":
        return _string(row, "text", shape)
    if shape == "instruction":
        return instruction_prompt(_string(row, "instruction", shape), _string(row, "input", shape, optional=True))
    if shape == "messages":
        return _render(tokenizer, _prompt_messages(_messages(row)), add_generation_prompt=True)
    raise ValueError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")


def prompt_ids(row: Mapping[str, Any], shape: Shape, tokenizer: Any) -> list[int]:
    """`prompt_of` tokenized the way `encode` tokenizes the same text (special tokens added, except for a chat
    template's rendering, which carries its own)."""
    return _ids(tokenizer, prompt_of(row, shape, tokenizer), special=shape != "messages")


# --- encoding -----------------------------------------------------------------------------------------------


def _ids(tokenizer: Any, text: str, *, special: bool) -> list[int]:
    return [int(i) for i in tokenizer(text, add_special_tokens=special)["input_ids"]]


def _eos(tokenizer: Any) -> list[int]:
    eos = getattr(tokenizer, "eos_token_id", None)
    return [] if eos is None else [int(eos)]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _encode_messages(messages: list[dict[str, str]], tokenizer: Any) -> tuple[list[int], list[int]]:
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError(
            f"a row's 'messages' field has no assistant message, so nothing to learn: expected {_MESSAGES_EXPECTED} "
            "with at least one assistant turn"
        )
    ids = _ids(tokenizer, _render(tokenizer, messages, add_generation_prompt=False), special=False)
    labels = [IGNORE_INDEX] * len(ids)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        # the turn's span: from where the conversation up to it (with the assistant marker) ends, to where the
        # conversation including it ends (common prefixes, robust to templates that re-render earlier turns)
        before = _ids(tokenizer, _render(tokenizer, messages[:i], add_generation_prompt=True), special=False)
        after = _ids(tokenizer, _render(tokenizer, messages[: i + 1], add_generation_prompt=False), special=False)
        start, end = _common_prefix(before, ids), _common_prefix(after, ids)
        # the separator after the end-of-turn token (e.g. a newline) is the template's, not the assistant's
        while end > start and not tokenizer.decode([ids[end - 1]]).strip():
            end -= 1
        labels[start:end] = ids[start:end]
    return ids, labels


def encode(row: Mapping[str, Any], shape: Shape, tokenizer: Any, max_seq_len: int) -> tuple[list[int], list[int]]:
    """A row's input_ids and labels (IGNORE_INDEX where not learned), truncated to max_seq_len.

    text: every token learned (bos first if the tokenizer adds one, eos appended); instruction: the prompt
    masked, the output and eos learned; messages: the assistant turns and their end-of-turn tokens learned.
    """
    if shape == "text":
        ids = _ids(tokenizer, _string(row, "text", shape), special=True)
        eos = _eos(tokenizer)
        if eos and (not ids or ids[-1] != eos[0]):
            ids += eos
        labels = list(ids)
    elif shape == "instruction":
        prompt = instruction_prompt(_string(row, "instruction", shape), _string(row, "input", shape, optional=True))
        prompt_part = _ids(tokenizer, prompt, special=True)
        output_part = _ids(tokenizer, _string(row, "output", shape), special=False) + _eos(tokenizer)
        ids = prompt_part + output_part
        labels = [IGNORE_INDEX] * len(prompt_part) + output_part
    elif shape == "messages":
        ids, labels = _encode_messages(_messages(row), tokenizer)
    else:
        raise ValueError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")
    return ids[:max_seq_len], labels[:max_seq_len]


def pack(
    examples: list[tuple[list[int], list[int]]], max_seq_len: int, pad_id: int
) -> list[tuple[list[int], list[int]]]:
    """Concatenate examples (in order) and cut the stream into chunks of exactly max_seq_len tokens; the last
    chunk holds the remainder (shorter, for `pad`), so no token is lost. An example may straddle two chunks.
    ``pad_id`` is unused here (chunks are not padded) and kept for a uniform call with `pad`."""
    del pad_id
    if max_seq_len < 1:
        raise ValueError(f"max_seq_len must be at least 1, got {max_seq_len}")
    ids = [i for example_ids, _ in examples for i in example_ids]
    labels = [label for _, example_labels in examples for label in example_labels]
    return [(ids[s : s + max_seq_len], labels[s : s + max_seq_len]) for s in range(0, len(ids), max_seq_len)]


def pad(example: tuple[list[int], list[int]], max_seq_len: int, pad_id: int) -> tuple[list[int], list[int], list[int]]:
    """Right-pad (or truncate) an example to max_seq_len: (input_ids, labels, attention_mask); padding has
    label IGNORE_INDEX and attention 0."""
    ids, labels = list(example[0][:max_seq_len]), list(example[1][:max_seq_len])
    n = max_seq_len - len(ids)
    return ids + [pad_id] * n, labels + [IGNORE_INDEX] * n, [1] * len(ids) + [0] * n


def pad_id_of(tokenizer: Any) -> int:
    """The id padding uses: the tokenizer's pad token, else its eos, else 0 (padding is masked either way)."""
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return 0


COLUMNS = ("input_ids", "labels", "attention_mask")


class Tokenize:
    """Ray Data ``map_batches`` callable (``batch_format="pandas"``): rows of a shape in, rows of
    input_ids/labels/attention_mask out (int64 arrays of exactly max_seq_len); with packing, fewer rows."""

    def __init__(self, tokenizer_dir: str, shape: Shape, max_seq_len: int, packing: bool) -> None:
        from transformers import AutoTokenizer

        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")
        if max_seq_len < 1:
            raise ValueError(f"max_seq_len must be at least 1, got {max_seq_len}")
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        self.shape: Shape = shape
        self.max_seq_len = max_seq_len
        self.packing = packing
        self.pad_id = pad_id_of(self.tokenizer)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        examples = [
            encode(row, self.shape, self.tokenizer, self.max_seq_len) for row in batch.to_dict(orient="records")
        ]
        if self.packing:
            examples = pack(examples, self.max_seq_len, self.pad_id)
        padded = [pad(example, self.max_seq_len, self.pad_id) for example in examples]
        return pd.DataFrame(
            {name: [np.asarray(row[k], dtype=np.int64) for row in padded] for k, name in enumerate(COLUMNS)},
            columns=list(COLUMNS),
        )


def count_tokens(batch: Any) -> int:
    """The learned tokens of a batch (labels != IGNORE_INDEX): a pandas DataFrame of `Tokenize`'s rows, or a
    dict of numpy arrays / torch tensors."""
    labels = batch["labels"]
    if isinstance(labels, pd.Series | list | tuple):
        rows = [np.asarray(row) for row in labels]
        return int(sum(int((row != IGNORE_INDEX).sum()) for row in rows))
    return int((labels != IGNORE_INDEX).sum())

"""framework: transformers: the three data shapes and their tokenization (raydt.frameworks.transformers.lm.text) on a
tiny tokenizer built offline (tests/llm_fixture.py), without Ray or a model."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from raydt.frameworks.transformers.lm.text import (
    DEFAULT_CHAT_TEMPLATE,
    IGNORE_INDEX,
    SHAPES,
    Tokenize,
    count_tokens,
    detect_shape,
    encode,
    pack,
    pad,
    prompt_ids,
    prompt_of,
)
from tests.llm_fixture import CHAT_TEMPLATE, FACTS, fact_rows, fact_texts, tiny_tokenizer

# Transformers is imported by the tests that need it, not at every worker's collection
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed"),
]

CHAT = [
    {"role": "system", "content": "you answer facts about made up places"},
    {"role": "user", "content": "the capital of zorbia is"},
    {"role": "assistant", "content": "quell"},
    {"role": "user", "content": "the color of a glimbat is"},
    {"role": "assistant", "content": "vermop and blue"},
]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_tokenizer(tmp_path_factory.mktemp("tok"), fact_texts())


@pytest.fixture(scope="module")
def tok(tok_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tok_dir)


def learned(ids: list[int], labels: list[int]) -> list[int]:
    assert len(ids) == len(labels)
    for i, label in zip(ids, labels, strict=True):
        assert label in (i, IGNORE_INDEX)  # a label is its token or ignored, never another token
    return [label for label in labels if label != IGNORE_INDEX]


def spans(labels: list[int]) -> list[tuple[int, int]]:
    """The [start, end) runs of learned positions."""
    out: list[tuple[int, int]] = []
    for pos, label in enumerate(labels):
        if label == IGNORE_INDEX:
            continue
        if out and out[-1][1] == pos:
            out[-1] = (out[-1][0], pos + 1)
        else:
            out.append((pos, pos + 1))
    return out


def test_the_module_imports_neither_torch_nor_transformers_at_module_level() -> None:
    # an AST check (a subprocess importing the module costs ~1 s of this file's budget)
    import raydt.frameworks.transformers.lm.text as text

    tree = ast.parse(Path(text.__file__).read_text())
    top = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top |= {node.module or "" for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in top} <= {"__future__", "math", "collections", "typing", "numpy", "pandas"}
    assert any(isinstance(node, ast.ImportFrom) and node.module == "transformers" for node in ast.walk(tree))


def test_shape_detection_and_its_error() -> None:
    assert SHAPES == ("text", "instruction", "messages")
    assert detect_shape(["text", "id"]) == "text"
    assert detect_shape(["instruction", "output"]) == "instruction"
    assert detect_shape(["instruction", "input", "output", "text"]) == "instruction"
    assert detect_shape(["messages", "text"]) == "messages"
    with pytest.raises(ValueError) as err:
        detect_shape(["prompt", "completion"])
    message = str(err.value)
    assert "completion, prompt" in message
    assert all(f'"{shape}"' in message for shape in SHAPES)
    with pytest.raises(ValueError, match="instruction column needs an output"):
        detect_shape(["instruction"])


def test_text_learns_every_token_with_bos_and_eos(tok: Any) -> None:
    ids, labels = encode({"text": "the capital of zorbia is quell"}, "text", tok, 64)
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert labels == ids
    assert tok.decode(ids[1:-1]) == "the capital of zorbia is quell"


def test_the_instruction_prompt_is_masked_and_the_output_and_eos_learned(tok: Any) -> None:
    row = {"instruction": "the capital of zorbia is", "output": "quell"}
    ids, labels = encode(row, "instruction", tok, 128)
    prompt = tok("### Instruction:\nthe capital of zorbia is\n\n### Response:\n")["input_ids"]
    assert ids[: len(prompt)] == prompt
    assert labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
    assert labels[len(prompt) :] == ids[len(prompt) :]
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(learned(ids, labels)) == "quell</s>"
    # an input adds its block to the prompt, still masked
    ids2, labels2 = encode({**row, "input": "in the old maps"}, "instruction", tok, 128)
    assert "### Input:\nin the old maps" in tok.decode(ids2)
    assert learned(ids2, labels2) == learned(ids, labels)


def test_only_the_assistant_turns_of_a_chat_are_learned(tok: Any) -> None:
    ids, labels = encode({"messages": CHAT}, "messages", tok, 256)
    assert ids == tok(tok.apply_chat_template(CHAT, tokenize=False), add_special_tokens=False)["input_ids"]
    runs = spans(labels)
    assert len(runs) == 2
    texts = [tok.decode(ids[a:b]) for a, b in runs]
    assert texts == ["quell</s>", "vermop and blue</s>"]
    assert [tok.decode(ids[a:b], skip_special_tokens=True) for a, b in runs] == ["quell", "vermop and blue"]
    # what precedes each learned run is the assistant marker (and its newline), which is not learned
    for a, _ in runs:
        assert tok.decode(ids[a - 2 : a]) == "<|assistant|>\n"
    assert sum(1 for label in labels if label != IGNORE_INDEX) == sum(b - a for a, b in runs)


def test_a_chat_with_no_assistant_turn_is_refused(tok: Any) -> None:
    with pytest.raises(ValueError, match="no assistant message"):
        encode({"messages": CHAT[:2]}, "messages", tok, 256)


def test_truncation_to_max_seq_len(tok: Any) -> None:
    for shape in SHAPES:
        row = fact_rows(shape)[0]
        full_ids, full_labels = encode(row, shape, tok, 10_000)
        assert len(full_ids) > 6
        ids, labels = encode(row, shape, tok, 6)
        assert len(ids) == len(labels) == 6
        assert ids == full_ids[:6] and labels == full_labels[:6]


def test_packing_fills_chunks_and_keeps_every_learned_token(tok: Any) -> None:
    examples = [encode(row, "instruction", tok, 64) for row in fact_rows("instruction")]
    total = sum(len(ids) for ids, _ in examples)
    chunks = pack(examples, 16, tok.pad_token_id)
    assert len(chunks) == -(-total // 16)
    assert all(len(ids) == len(labels) == 16 for ids, labels in chunks[:-1])
    assert 0 < len(chunks[-1][0]) <= 16
    assert [i for ids, _ in chunks for i in ids] == [i for ids, _ in examples for i in ids]
    assert [label for _, labels in chunks for label in labels] == [label for _, labels in examples for label in labels]
    assert pack([], 16, 0) == []


def test_padding_masks_the_padding() -> None:
    ids, labels, mask = pad(([5, 6, 7], [IGNORE_INDEX, 6, 7]), 6, 0)
    assert ids == [5, 6, 7, 0, 0, 0]
    assert labels == [IGNORE_INDEX, 6, 7, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]
    assert mask == [1, 1, 1, 0, 0, 0]
    assert pad(([1, 2, 3], [1, 2, 3]), 2, 0) == ([1, 2], [1, 2], [1, 1])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("packing", [False, True])
def test_tokenize_a_pandas_batch(tok_dir: Path, tok: Any, shape: Any, packing: bool) -> None:
    rows = fact_rows(shape)
    batch = pd.DataFrame(rows)
    if shape == "messages":  # as Ray Data hands a list column over: numpy object arrays
        batch["messages"] = [np.array(row["messages"], dtype=object) for row in rows]
    out = Tokenize(str(tok_dir), shape, 24, packing)(batch)
    assert list(out.columns) == ["input_ids", "labels", "attention_mask"]
    for column in out.columns:
        assert all(len(value) == 24 and np.asarray(value).dtype == np.int64 for value in out[column])
    expected = [encode(row, shape, tok, 24) for row in rows]
    learned_tokens = sum(sum(1 for label in labels if label != IGNORE_INDEX) for _, labels in expected)
    assert count_tokens(out) == learned_tokens > 0
    attended = int(sum(np.asarray(mask).sum() for mask in out["attention_mask"]))
    assert attended == sum(len(ids) for ids, _ in expected)
    if packing:
        assert len(out) == -(-attended // 24) < len(rows)
    else:
        assert len(out) == len(rows)
        first_ids, first_labels = expected[0]
        assert list(out["input_ids"][0][: len(first_ids)]) == first_ids
        assert list(out["labels"][0][len(first_labels) :]) == [IGNORE_INDEX] * (24 - len(first_labels))
        assert list(out["input_ids"][0][len(first_ids) :]) == [tok.pad_token_id] * (24 - len(first_ids))


def test_count_tokens_on_numpy_batches() -> None:
    labels = np.array([[IGNORE_INDEX, 3, 4], [5, IGNORE_INDEX, IGNORE_INDEX]])
    assert count_tokens({"labels": labels}) == 3


@pytest.mark.parametrize(
    ("shape", "row", "field", "expected"),
    [
        ("text", {"text": 3}, "'text'", "must be a string"),
        ("text", {"body": "hi"}, "'text'", "expected a string"),
        ("instruction", {"instruction": "hi", "output": None}, "'output'", "expected a string"),
        ("messages", {"messages": "hello"}, "'messages'", "list of"),
        ("messages", {"messages": [{"role": "user", "text": "hi"}]}, "'messages'", "message 0"),
        ("messages", {"messages": ["hi"]}, "'messages'", "message 0 is str"),
    ],
)
def test_a_bad_row_names_its_field(tok_dir: Path, shape: Any, row: dict[str, Any], field: str, expected: str) -> None:
    good = fact_rows(shape)[0]
    batch = pd.DataFrame([good, row])
    with pytest.raises(ValueError) as err:
        Tokenize(str(tok_dir), shape, 32, False)(batch)
    assert field in str(err.value) and expected in str(err.value)


def test_prompt_of_each_shape(tok: Any) -> None:
    prompt, answer = FACTS[0]
    assert prompt_of({"text": prompt}, "text", tok) == prompt
    assert prompt_of({"instruction": prompt, "output": answer}, "instruction", tok) == (
        f"### Instruction:\n{prompt}\n\n### Response:\n"
    )
    assert prompt_of({"instruction": prompt, "input": "x"}, "instruction", tok) == (
        f"### Instruction:\n{prompt}\n\n### Input:\nx\n\n### Response:\n"
    )
    # the messages up to the last user turn (the final assistant answer left out), then the assistant marker
    chat = prompt_of({"messages": CHAT}, "messages", tok)
    assert chat.endswith("<|user|>\nthe color of a glimbat is</s>\n<|assistant|>\n")
    assert "vermop" not in chat and "<|assistant|>\nquell</s>" in chat
    # the prompt's tokens are exactly the training tokens before the learned answer
    ids, labels = encode({"messages": CHAT}, "messages", tok, 256)
    start = spans(labels)[-1][0]
    assert prompt_ids({"messages": CHAT}, "messages", tok) == ids[:start]
    ids, labels = encode(fact_rows("instruction")[0], "instruction", tok, 256)
    assert prompt_ids(fact_rows("instruction")[0], "instruction", tok) == ids[: spans(labels)[0][0]]
    with pytest.raises(ValueError, match="no user message"):
        prompt_of({"messages": CHAT[:1]}, "messages", tok)


def test_the_default_chat_template_matches_the_fixtures(tok: Any) -> None:
    plain = tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    assert tok.apply_chat_template(CHAT, chat_template=DEFAULT_CHAT_TEMPLATE, tokenize=False) + "<|assistant|>\n" == (
        plain
    )
    fixture = tok.apply_chat_template(CHAT, chat_template=CHAT_TEMPLATE, tokenize=False, add_generation_prompt=True)
    assert fixture == plain
    # a tokenizer without a chat template falls back to the default
    saved, tok.chat_template = tok.chat_template, None
    try:
        assert prompt_of({"messages": CHAT}, "messages", tok) == prompt_of({"messages": CHAT[:4]}, "messages", tok)
        assert prompt_of({"messages": CHAT}, "messages", tok).endswith("<|assistant|>\n")
        assert encode({"messages": CHAT}, "messages", tok, 256)[0][0] == tok.bos_token_id
    finally:
        tok.chat_template = saved

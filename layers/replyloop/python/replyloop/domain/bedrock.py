"""Amazon Bedrock's training data format: `bedrock-conversation-2024` lines, built and validated (pure).

A line is the same example as an OpenAI chat line (`domain.training.sft_example`) in the shape Bedrock's
model customization (`CreateModelCustomizationJob`, Nova and the other text models) reads:

    {"schemaVersion": "bedrock-conversation-2024",
     "system": [{"text": "..."}],
     "messages": [{"role": "user", "content": [{"text": "..."}]},
                  {"role": "assistant", "content": [{"text": "..."}]}]}

Validation follows Bedrock's user guide ("Prepare data for fine-tuning text-to-text models", and the Nova
user guide's "Preparing data for fine-tuning Understanding models"): `messages` roles are only `user` and
`assistant`, the first turn is the user's and the last the assistant's, turns alternate; `system` is
optional, a list of `{text}`; every text is non-empty; the reserved words Nova's trainer refuses
(`User:`, `Bot:`, `Assistant:`, `System:`, `<image>`, `<video>`, `[EOS]`) appear in no prompt or reply;
the example fits a per-example token limit. Tokens are estimated at 4 characters a token, like the
OpenAI lines (Bedrock's guide plans with about 6 characters a token, so this errs on the safe side);
the limit is configurable because it depends on the base model (docs/retrain.md says what is verified).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

SCHEMA_VERSION = "bedrock-conversation-2024"
ROLES = ("user", "assistant")
RESERVED_WORDS = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
DEFAULT_MAX_EXAMPLE_TOKENS = 32_000  # Nova Micro/Lite/Pro fine-tuning context (see docs/retrain.md)
TOKENS_PER_TURN = 4
LINE_KEYS = frozenset({"schemaVersion", "system", "messages"})


def bedrock_example(messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """An OpenAI-style chat example (system, user, assistant messages) as a `bedrock-conversation-2024` line.

    System messages become `system` blocks; the others keep their order as `{role, content: [{text}]}`.
    """
    system = [{"text": str(m["content"])} for m in messages if m["role"] in ("system", "developer")]
    turns = [
        {"role": str(m["role"]), "content": [{"text": str(m["content"])}]}
        for m in messages
        if m["role"] not in ("system", "developer")
    ]
    line: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
    if system:
        line["system"] = system
    line["messages"] = turns
    return line


def _texts_problem(blocks: Any, where: str) -> tuple[list[str], str | None]:
    """The texts of a content (or system) list, or why it is not a list of non-empty `{text}` blocks."""
    if not isinstance(blocks, list) or not blocks:
        return [], f"{where} has no content"
    texts = []
    for block in blocks:
        if not isinstance(block, Mapping) or set(block) != {"text"}:
            return [], f"{where} has a block other than {{'text'}}"
        text = block["text"]
        if not isinstance(text, str) or not text.strip():
            return [], f"{where} has an empty text"
        reserved = next((word for word in RESERVED_WORDS if word in text), None)
        if reserved:
            return [], f"{where} contains the reserved word {reserved!r}"
        texts.append(text)
    return texts, None


def estimate_tokens(texts: Sequence[str]) -> int:
    return sum(TOKENS_PER_TURN + math.ceil(len(text) / 4) for text in texts)


def _turn_problem(message: Any, index: int) -> tuple[list[str], str | None]:
    if not isinstance(message, Mapping) or set(message) != {"role", "content"}:
        return [], f"message {index} is not an object with 'role' and 'content' only"
    if message["role"] not in ROLES:
        return [], f"message {index} has role {message['role']!r}"
    if message["role"] != ROLES[index % 2]:
        return [], f"message {index} should be the {ROLES[index % 2]}'s (turns alternate, the user first)"
    return _texts_problem(message["content"], f"message {index}")


def _turns_problem(messages: Any) -> tuple[list[str], str | None]:
    """The texts of the turns, or why they are not alternating user/assistant turns ending with the assistant."""
    if not isinstance(messages, list) or not messages:
        return [], "no messages"
    texts: list[str] = []
    for index, message in enumerate(messages):
        found, problem = _turn_problem(message, index)
        if problem:
            return [], problem
        texts += found
    if messages[-1]["role"] != "assistant":
        return [], "the last message is not the assistant's"
    return texts, None


def validate_bedrock(example: Any, max_tokens: int = DEFAULT_MAX_EXAMPLE_TOKENS) -> str | None:
    """Why Bedrock model customization would refuse this line, or None when it is valid."""
    if not isinstance(example, Mapping) or not set(example) <= LINE_KEYS or "messages" not in example:
        return "not an object with 'schemaVersion', 'system' and 'messages' only"
    if example.get("schemaVersion") != SCHEMA_VERSION:
        return f"schemaVersion is not {SCHEMA_VERSION!r}"
    system: list[str] = []
    if "system" in example:
        system, problem = _texts_problem(example["system"], "system")
        if problem:
            return problem
    turns, problem = _turns_problem(example["messages"])
    if problem:
        return problem
    if estimate_tokens(system + turns) > max_tokens:
        return f"longer than {max_tokens} tokens"
    return None

"""Chat completions: drafts from the prompt's exemplars, or structured answers by schema name."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from replyloop.local.offline_model.drafting import (
    MODEL_NAME,
    count_tokens,
    draft_reply,
    message_text,
    split_tokens,
    token_logprobs,
)
from replyloop.local.offline_model.reflection import is_reflection, reflect
from replyloop.local.offline_model.state import LOCK, TRAINED, api_error
from replyloop.local.offline_model.structured import STRUCTURED_HANDLERS


def last_user_text(messages: list[Any]) -> str:
    users = [message_text(m) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users else ""


def chat_completion(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return api_error(400, "'messages' must be a non-empty list")
    choices_wanted = int(body.get("n") or 1)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema") or {}
        handler = STRUCTURED_HANDLERS.get(str(schema.get("name")))
        if handler is None:
            return api_error(400, f"The offline model cannot produce the schema {schema.get('name')!r}.")
        content, probability = json.dumps(handler(messages, schema.get("schema") or {})), 0.9
    elif is_reflection(last_user_text(messages)):
        content, probability = reflect(last_user_text(messages)), 0.9
    else:
        with LOCK:
            learned = list(TRAINED.get(str(body.get("model")), []))
        content, probability = draft_reply(messages, learned)
    tokens = split_tokens(content)
    choice_logprobs = (
        {"content": token_logprobs(tokens, probability), "refusal": None} if body.get("logprobs") else None
    )
    completion_tokens = len(tokens)
    prompt_tokens = count_tokens(messages)
    return 200, {
        "id": f"chatcmpl-offline-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model")) if str(body.get("model", "")) in TRAINED else MODEL_NAME,
        "system_fingerprint": "replyloop-offline",
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": choice_logprobs,
                "finish_reason": "stop",
            }
            for index in range(choices_wanted)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens * choices_wanted,
            "total_tokens": prompt_tokens + completion_tokens * choices_wanted,
        },
    }

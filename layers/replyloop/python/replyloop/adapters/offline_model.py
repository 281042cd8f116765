"""The built-in offline model: a small OpenAI-compatible API for running without a key.

Everything it produces is labelled: its model name is `replyloop-offline`. It is not canned:
- **drafting** answers from the few-shot exemplars in its prompt (`<example>` blocks): the reply of
  the exemplar whose customer message is nearest the new one (bag-of-words cosine). Its token
  logprobs carry that similarity, so a prompt with better exemplars gives better, more confident
  drafts - a retrained prompt measurably improves it. With no exemplar near, it writes a generic
  holding reply with low confidence (which the product snoozes for review).
- **structured output** (`response_format` with a JSON schema) is produced by handlers registered
  per schema name (`STRUCTURED_HANDLERS`); an unknown schema is a 400, never made-up JSON.

Maintained fakes were checked first (fakellm 0.3.5, mockllm 0.0.8, openai-responses): they replay
configured answers and support neither logprobs nor answering from the prompt's exemplars.

It is transport-agnostic: `handle()` maps (method, path, JSON body) to (status, JSON). `transport()`
serves it in-process to the openai SDK (whose HTTP client is httpx2); the local stack also serves
it on loopback.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx2

MODEL_NAME = "replyloop-offline"
EXAMPLE_PATTERN = re.compile(
    r"<example>\s*<customer_message>\s*(.*?)\s*</customer_message>\s*<reply>\s*(.*?)\s*</reply>\s*</example>",
    re.DOTALL,
)
CUSTOMER_PATTERN = re.compile(r"<customer_message>\s*(.*?)\s*</customer_message>", re.DOTALL)
WORD = re.compile(r"[a-z0-9']+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "at",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "my",
        "your",
        "i",
        "you",
        "we",
        "me",
        "our",
        "us",
        "can",
        "could",
        "would",
        "will",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "just",
        "so",
        "do",
        "did",
        "not",
        "no",
    ]
)
GENERIC_REPLY = (
    "Thanks for reaching out, and sorry for the trouble. I'm looking into this now and will get back "
    "to you with an answer as soon as possible."
)
GENERIC_CONFIDENCE = 0.2
MIN_PROBABILITY = 0.02

StructuredHandler = Callable[[list[dict[str, Any]], dict[str, Any]], dict[str, Any]]
STRUCTURED_HANDLERS: dict[str, StructuredHandler] = {}


def words(text: str) -> Counter[str]:
    return Counter(w for w in WORD.findall(text.lower()) if w not in STOPWORDS)


def cosine(left: Counter[str], right: Counter[str]) -> float:
    if not left or not right:
        return 0.0
    dot = sum(count * right[word] for word, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm if norm else 0.0


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def draft_reply(messages: list[dict[str, Any]]) -> tuple[str, float]:
    """The nearest exemplar's reply and how near it was (0-1)."""
    prompt = "\n".join(_text(m) for m in messages if m.get("role") in ("system", "developer"))
    users = [_text(m) for m in messages if m.get("role") == "user"]
    last_user = users[-1] if users else ""
    found = CUSTOMER_PATTERN.findall(last_user)
    customer = found[-1] if found else last_user
    target = words(customer)
    best_reply, best_score = GENERIC_REPLY, 0.0
    for example_message, example_reply in EXAMPLE_PATTERN.findall(prompt + "\n" + "\n".join(users[:-1])):
        score = cosine(target, words(example_message))
        if score > best_score:
            best_reply, best_score = example_reply.strip(), score
    if best_score < GENERIC_CONFIDENCE:
        return GENERIC_REPLY, GENERIC_CONFIDENCE
    return best_reply, best_score


def _tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _logprobs(tokens: list[str], probability: float) -> list[dict[str, Any]]:
    """Per-token logprobs whose geometric mean is `probability` (a small, deterministic wobble)."""
    base = math.log(max(MIN_PROBABILITY, min(probability, 0.999)))
    wobble = [0.05 * math.sin(i) for i in range(len(tokens))]
    mean_wobble = sum(wobble) / len(wobble) if wobble else 0.0
    return [
        {
            "token": token,
            "logprob": min(0.0, base + w - mean_wobble),
            "bytes": list(token.encode()),
            "top_logprobs": [],
        }
        for token, w in zip(tokens, wobble, strict=True)
    ]


def _count_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(_tokens(_text(m))) for m in messages)


def _error(status: int, message: str, kind: str = "invalid_request_error") -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}


def chat_completion(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "'messages' must be a non-empty list")
    choices_wanted = int(body.get("n") or 1)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema") or {}
        handler = STRUCTURED_HANDLERS.get(str(schema.get("name")))
        if handler is None:
            return _error(400, f"The offline model cannot produce the schema {schema.get('name')!r}.")
        content, probability = json.dumps(handler(messages, schema.get("schema") or {})), 0.9
    else:
        content, probability = draft_reply(messages)
    tokens = _tokens(content)
    choice_logprobs = (
        {"content": _logprobs(tokens, probability), "refusal": None} if body.get("logprobs") else None
    )
    completion_tokens = len(tokens)
    prompt_tokens = _count_tokens(messages)
    return 200, {
        "id": f"chatcmpl-offline-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
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


def handle(method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    """One OpenAI API request: (method, path under the base URL, parsed JSON body) -> (status, JSON)."""
    route = path.rstrip("/")
    route = route.removeprefix("/v1")
    if method == "GET" and route == "/models":
        return 200, {
            "object": "list",
            "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "replyloop"}],
        }
    if method == "POST" and route == "/chat/completions":
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object")
        return chat_completion(body)
    return _error(404, f"The offline model does not serve {method} {path}", "not_found_error")


def _handle_httpx(request: httpx2.Request) -> httpx2.Response:
    try:
        body = json.loads(request.content) if request.content else None
    except ValueError:
        status, payload = _error(400, "The body is not JSON")
    else:
        status, payload = handle(request.method, request.url.path, body)
    return httpx2.Response(status, json=payload)


def transport() -> httpx2.MockTransport:
    """An httpx2 transport that answers in-process (for `openai.OpenAI(http_client=...)`)."""
    return httpx2.MockTransport(_handle_httpx)


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The same API as a WSGI app, so the local stack can serve it on loopback."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        status, payload = _error(400, "The body is not JSON")
    else:
        status, payload = handle(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), body)
    data = json.dumps(payload).encode()
    start_response(
        f"{status} {'OK' if status == 200 else 'Error'}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
        ],
    )
    return [data]

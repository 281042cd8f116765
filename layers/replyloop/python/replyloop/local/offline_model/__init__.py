"""The offline model: a small OpenAI-compatible API standing in for OpenAI, as moto stands in for AWS.

Everything it produces is labelled: its model name is `replyloop-offline`. A stack drafts with it
only when its configuration names it (`LLM_PROVIDER=offline`, see `replyloop.adapters.llm`); the
local stack serves it on loopback when the developer has no key. It is not canned:
- **drafting** (`drafting`) answers from the few-shot exemplars in its prompt, with token logprobs
  that carry how near the exemplar was - a retrained prompt measurably improves it.
- **structured output** (`structured`) is produced by handlers registered per schema name
  (`STRUCTURED_HANDLERS`); an unknown schema is a 400, never made-up JSON.
- **files and fine-tuning** (`files`, `fine_tuning`) check uploads like OpenAI does, and a
  fine-tuned model drafts with its training examples as extra exemplars.
- **batches** (`batches`) check the input file like OpenAI does and answer every request with
  the same chat completions code (`chat`), one step per retrieval.

Maintained fakes were checked first (fakellm 0.3.5, mockllm 0.0.8, openai-responses): they replay
configured answers and support neither logprobs nor answering from the prompt's exemplars.

It is transport-agnostic (`server`): `handle()` maps (method, path, JSON body) to (status, JSON);
`transport()` serves it in-process to the openai SDK (whose HTTP client is httpx2) and `wsgi_app`
serves it on loopback. `$REPLYLOOP_OFFLINE_LATENCY_MS` makes each chat completion wait that long
first (default 0), so benchmarks can give it a real model's latency.
"""

from __future__ import annotations

from replyloop.local.offline_model.drafting import GENERIC_CONFIDENCE, GENERIC_REPLY, MODEL_NAME
from replyloop.local.offline_model.server import handle, transport, wsgi_app
from replyloop.local.offline_model.structured import STRUCTURED_HANDLERS

__all__ = [
    "GENERIC_CONFIDENCE",
    "GENERIC_REPLY",
    "MODEL_NAME",
    "STRUCTURED_HANDLERS",
    "handle",
    "transport",
    "wsgi_app",
]

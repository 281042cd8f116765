"""LLM access: the openai SDK, configured once, behind a small interface.

Who drafts is one setting, `LLM_PROVIDER`:
- `openai` (the default): the OpenAI API, or any OpenAI-compatible server at `OPENAI_BASE_URL`. The
  key comes from `OPENAI_API_KEY`, or in AWS from the SSM SecureString named by
  `OPENAI_API_KEY_PARAMETER` (Powertools parameters, cached). A key parameter that cannot be read,
  or holds nothing, is an `LlmConfigurationError` naming it - never a quiet switch to another model.
- `offline`: the built-in offline model (`replyloop.local.offline_model`), in-process, or at
  `OPENAI_BASE_URL` when the local stack serves it on loopback. Everything it writes says
  `replyloop-offline`.
Named endpoints (`LLM_ENDPOINTS`, `domain/endpoints.py`): `openai` is the client above; each other name
(`bedrock`, or any base URL) gets its own `openai.OpenAI` client, built on first use, with its key from
its own SSM SecureString (`keyParameter`). `llm.at(name)` is the client for an assistant version's
endpoint. With `LLM_PROVIDER=offline`, every endpoint whose base URL was not configured explicitly is the
offline model too, so a local stack with endpoints configured still drafts offline.
Retries (429, 5xx, timeouts) are the SDK's. Within an invocation (`within(deadline)`), each call's
per-attempt timeout and retry count are fitted into the time the invocation has left
(`domain.deadline.fit_call`) and handed to the SDK per request (`client.with_options`); when not even
one attempt fits, the call is not made (`LlmUnavailableError`: the api answers 503, a worker's record
is retried) - rather than Lambda killing the invocation mid-call. A refusal is an `LlmRefusedError`:
the same request would be refused again.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from replyloop.domain.deadline import Deadline, fit_call
from replyloop.domain.endpoints import DEFAULT_ENDPOINT, Endpoint
from replyloop.domain.errors import LlmRefusedError, LlmUnavailableError
from replyloop.domain.prompts import chat_body
from replyloop.ports import Completion, Output
from replyloop.settings import LlmSettings

if TYPE_CHECKING:
    import openai


OFFLINE = "offline"
logger = logging.getLogger(__name__)
# The SDK's backoff between retries (openai._constants; tests/unit/test_deadline.py checks they agree).
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
DEFAULT_MIN_ATTEMPT_SECONDS = 3.0


class LlmConfigurationError(Exception):
    """The LLM settings cannot work as given; the message names the setting to fix (a deployment error)."""


# `openai` is imported on first use, not at import time: it is the heaviest import of the product
# (about 0.6 s) and most invocations of the api function never call a model (bench/run.py, cold start).


class OpenAILlm:
    """Chat completions through the openai SDK (any OpenAI-compatible server)."""

    def __init__(
        self,
        client: openai.OpenAI,
        description: str,
        *,
        min_attempt_seconds: float = DEFAULT_MIN_ATTEMPT_SECONDS,
        endpoint: str = DEFAULT_ENDPOINT,
        endpoints: LlmEndpoints | None = None,
    ) -> None:
        self._client = client
        self._description = description
        self._no_logprobs: set[str] = set()
        self._min_attempt_seconds = min_attempt_seconds
        self._deadline: Deadline | None = None
        self._endpoint = endpoint
        self._endpoints = endpoints

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def at(self, endpoint: str) -> OpenAILlm:
        """The client of the named endpoint, bound to the same deadline as this one."""
        if endpoint == self._endpoint or self._endpoints is None:
            if endpoint != self._endpoint:
                raise LlmUnavailableError(f"No endpoint {endpoint!r} is configured (LLM_ENDPOINTS).")
            return self
        other = self._endpoints.llm(endpoint)
        return other.within(self._deadline) if self._deadline is not None else other

    def within(self, deadline: Deadline) -> OpenAILlm:
        """This client for one invocation: every call made through it fits in what `deadline` has left."""
        bound = copy.copy(self)  # shares the SDK client and what it learnt about models
        bound._deadline = deadline
        return bound

    def _fitted(self) -> openai.OpenAI:
        """The SDK client with this call's timeout and retries; refuses to start a call that cannot finish."""
        if self._deadline is None:
            return self._client
        seconds_left = self._deadline.seconds_left()
        budget = fit_call(
            seconds_left,
            timeout_seconds=_attempt_timeout(self._client.timeout),
            max_retries=self._client.max_retries,
            min_attempt_seconds=self._min_attempt_seconds,
            initial_backoff=INITIAL_RETRY_DELAY,
            max_backoff=MAX_RETRY_DELAY,
        )
        if budget is None:
            raise LlmUnavailableError(
                f"No time left for a model call ({seconds_left:.1f} s before the deadline); try again shortly."
            )
        if budget.timeout_seconds == self._client.timeout and budget.max_retries == self._client.max_retries:
            return self._client
        fitted = {"secondsLeft": round(seconds_left, 2), "timeout": budget.timeout_seconds}
        logger.debug("Model call fitted to the deadline", extra={**fitted, "retries": budget.max_retries})
        return self._client.with_options(timeout=budget.timeout_seconds, max_retries=budget.max_retries)

    @property
    def client(self) -> openai.OpenAI:
        """The SDK client (files and fine-tuning jobs, for the openai trainer)."""
        return self._client

    @property
    def description(self) -> str:
        return self._description

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        model: str,
        temperature: float,
        logprobs: bool,
        n: int = 1,
        max_tokens: int = 600,
    ) -> list[Completion]:
        import openai

        want_logprobs = logprobs and model not in self._no_logprobs
        try:
            response = self._create(messages, model, temperature, want_logprobs, n, max_tokens)
        except openai.BadRequestError as error:
            if not want_logprobs or "logprobs" not in str(error).lower():
                raise LlmRefusedError(f"The model refused the request: {error.message}") from error
            # Reasoning models reject logprobs; remember, and let the caller fall back to sampling.
            self._no_logprobs.add(model)
            response = self._create(messages, model, temperature, False, n, max_tokens)
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        completions = []
        for index, choice in enumerate(response.choices):
            content = choice.logprobs.content if choice.logprobs and choice.logprobs.content else None
            completions.append(
                Completion(
                    text=(choice.message.content or "").strip(),
                    token_logprobs=[token.logprob for token in content] if content else None,
                    model=response.model or model,
                    # Usage is per response; charge it to the first choice so sums stay right.
                    prompt_tokens=prompt_tokens if index == 0 else 0,
                    completion_tokens=completion_tokens if index == 0 else 0,
                )
            )
        return completions

    def _create(
        self,
        messages: list[dict[str, str]],
        model: str,
        temperature: float,
        logprobs: bool,
        n: int,
        max_tokens: int,
    ) -> Any:
        return _call(
            self._fitted().chat.completions.create,
            **chat_body(messages, model=model, temperature=temperature, logprobs=logprobs, n=n, max_tokens=max_tokens),
        )

    def structured(
        self, messages: list[dict[str, str]], *, model: str, output: type[Output], temperature: float = 0.0
    ) -> tuple[Output, Completion]:
        """A structured output parsed into `output` (the SDK sends it as a strict JSON schema)."""
        import openai

        try:
            response = _call(
                self._fitted().chat.completions.parse,
                model=model,
                messages=messages,
                response_format=output,
                temperature=temperature,
            )
        except openai.BadRequestError as error:
            raise LlmRefusedError(f"The model refused the request: {error.message}") from error
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as error:
            raise LlmRefusedError(f"The model did not finish its answer: {error}") from error
        message = response.choices[0].message
        if message.refusal or message.parsed is None:
            raise LlmRefusedError(f"The model gave no {output.__name__}: {message.refusal or 'empty answer'}")
        usage = response.usage
        return message.parsed, Completion(
            text=message.content or "",
            token_logprobs=None,
            model=response.model or model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def structured_body(
    messages: list[dict[str, str]], *, model: str, output: type[BaseModel], temperature: float = 0.0
) -> dict[str, Any]:
    """A structured-output request as `structured` sends it: the SDK's own strict JSON schema for `output`."""
    from openai.lib import type_to_response_format_param

    return {
        "model": model,
        "messages": messages,
        "response_format": type_to_response_format_param(output),
        "temperature": temperature,
    }


def _attempt_timeout(timeout: Any) -> float:
    """The client's configured per-attempt timeout in seconds (a number, or an httpx Timeout's read timeout)."""
    if isinstance(timeout, int | float):
        return float(timeout)
    read = getattr(timeout, "read", None)
    return float(read) if isinstance(read, int | float) else 600.0  # the SDK's default


def _call(operation: Callable[..., Any], **arguments: Any) -> Any:
    """Call the SDK (which has already retried); turn what is not the request's fault into one error."""
    import openai

    try:
        return operation(**arguments)
    except (openai.APITimeoutError, openai.APIConnectionError) as error:
        raise LlmUnavailableError("The model did not answer in time; try again shortly.") from error
    except (openai.RateLimitError, openai.InternalServerError) as error:
        raise LlmUnavailableError("The model is overloaded or failing; try again shortly.") from error
    except openai.AuthenticationError as error:
        raise LlmUnavailableError("The model rejected the configured API key.") from error


def _parameter_value(setting: str, name: str) -> str:
    """An API key from an SSM SecureString (Powertools parameters, cached 5 minutes); never a fallback."""
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_parameter(name, decrypt=True, max_age=300)
    except parameters.exceptions.GetParameterError as error:
        raise LlmConfigurationError(f"{setting} {name!r} could not be read: {error}") from error
    if not isinstance(value, str) or not value.strip():
        raise LlmConfigurationError(f"{setting} {name!r} holds no key")
    return value.strip()


def _api_key(settings: LlmSettings) -> str:
    """The configured key; a named key parameter must resolve to one (no fallback to another model)."""
    if settings.api_key:
        return settings.api_key
    name = settings.api_key_parameter
    if name:
        return _parameter_value("OPENAI_API_KEY_PARAMETER", name)
    if settings.base_url:
        return "not-needed"  # a compatible server that asks for no key (a local one)
    raise LlmConfigurationError(
        "LLM_PROVIDER=openai needs OPENAI_API_KEY, OPENAI_API_KEY_PARAMETER (an SSM SecureString) or "
        "OPENAI_BASE_URL (a server that needs no key); LLM_PROVIDER=offline drafts with the built-in offline model"
    )


class LlmEndpoints:
    """One client per named endpoint, built on first use and kept (thread-safe: the Map state runs four at once)."""

    def __init__(self, settings: LlmSettings) -> None:
        self._settings = settings
        self._built: dict[str, OpenAILlm] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return sorted(self._settings.endpoints)

    def llm(self, name: str) -> OpenAILlm:
        with self._lock:
            found = self._built.get(name)
            if found is None:
                endpoint = self._settings.endpoints.get(name)
                if endpoint is None:
                    raise LlmUnavailableError(
                        f"No endpoint {name!r} is configured (LLM_ENDPOINTS); known: {', '.join(self.names)}."
                    )
                found = self._built[name] = self._build(endpoint)
                logger.info("Endpoint %s: %s", name, found.description)
            return found

    def _build(self, endpoint: Endpoint) -> OpenAILlm:
        import openai

        settings = self._settings
        if settings.provider == OFFLINE and not (endpoint.name != DEFAULT_ENDPOINT and endpoint.explicit_url):
            return _offline_llm(settings, endpoint.name, self)
        if endpoint.name == DEFAULT_ENDPOINT:
            key = _api_key(settings)
        elif endpoint.key_parameter:
            key = _parameter_value(f"LLM_ENDPOINTS[{endpoint.name}].keyParameter", endpoint.key_parameter)
        else:
            key = "not-needed"
        client = openai.OpenAI(
            api_key=key, base_url=endpoint.base_url, timeout=settings.timeout_seconds, max_retries=settings.max_retries
        )
        return OpenAILlm(
            client,
            f"{settings.draft_model} at {endpoint.where}"
            if endpoint.name == DEFAULT_ENDPOINT
            else f"endpoint {endpoint.name} at {endpoint.where}",
            min_attempt_seconds=settings.min_attempt_seconds,
            endpoint=endpoint.name,
            endpoints=self,
        )


def build_endpoints(settings: LlmSettings) -> LlmEndpoints:
    return LlmEndpoints(settings)


def build_llm(settings: LlmSettings, endpoints: LlmEndpoints | None = None) -> OpenAILlm:
    """The default endpoint's client: the offline model only when `LLM_PROVIDER=offline` says so."""
    llm = (endpoints or LlmEndpoints(settings)).llm(DEFAULT_ENDPOINT)
    logger.info("Drafting with %s", llm.description)
    return llm


def _offline_llm(
    settings: LlmSettings, endpoint: str = DEFAULT_ENDPOINT, endpoints: LlmEndpoints | None = None
) -> OpenAILlm:
    """The offline model in-process, or the copy the local stack serves at `OPENAI_BASE_URL`."""
    import openai

    from replyloop.local.offline_model import MODEL_NAME, transport

    named = f"the built-in offline model {MODEL_NAME} (LLM_PROVIDER=offline; its replies are labelled)"
    options = {"min_attempt_seconds": settings.min_attempt_seconds, "endpoint": endpoint, "endpoints": endpoints}
    if settings.base_url:
        client = openai.OpenAI(
            api_key=OFFLINE,
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )
        return OpenAILlm(client, f"{named} at {settings.base_url}", **options)  # type: ignore[arg-type]
    import httpx2

    client = openai.OpenAI(
        api_key=OFFLINE,
        base_url="http://offline.invalid/v1",
        http_client=httpx2.Client(transport=transport()),
        max_retries=0,
    )
    return OpenAILlm(client, f"{named}, in process", **options)  # type: ignore[arg-type]

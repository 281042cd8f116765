"""Which model drafts: the one the configuration names, never a quiet fallback (adapters.llm.build_llm)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from replyloop.adapters.llm import LlmConfigurationError, build_llm
from replyloop.caches import clear_all
from replyloop.local.template import load_template
from replyloop.settings import LlmSettings
from replyloop.wiring import get_llm_settings
from tests.conftest import TEMPLATE


def test_offline_named_drafts_with_the_offline_model_in_process_whatever_keys_are_set():
    llm = build_llm(LlmSettings(LLM_PROVIDER="offline", OPENAI_API_KEY="sk-unused"))
    assert "offline" in llm.description and "LLM_PROVIDER=offline" in llm.description
    assert llm.client.api_key == "offline"  # the key is not sent anywhere
    (completion,) = llm.complete([{"role": "user", "content": "hi"}], model="gpt-4o-mini", temperature=0, logprobs=True)
    assert completion.model == "replyloop-offline"


def test_offline_named_with_a_base_url_talks_to_the_copy_served_there():
    # What the local stack does: the offline model on loopback, named as such.
    llm = build_llm(LlmSettings(LLM_PROVIDER="offline", OPENAI_BASE_URL="http://127.0.0.1:9/v1"))
    assert str(llm.client.base_url) == "http://127.0.0.1:9/v1/"
    assert "offline" in llm.description and "http://127.0.0.1:9/v1" in llm.description


def test_a_key_drafts_with_the_openai_client_at_the_configured_base_url():
    llm = build_llm(LlmSettings(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="https://llm.test/v1", LLM_MAX_RETRIES=1))
    assert llm.client.api_key == "sk-test"
    assert str(llm.client.base_url) == "https://llm.test/v1/"
    assert llm.client.max_retries == 1
    assert llm.description == "gpt-4o-mini at https://llm.test/v1"


def test_a_key_without_a_base_url_goes_to_openai():
    llm = build_llm(LlmSettings(LLM_PROVIDER="openai", OPENAI_API_KEY="sk-test"))
    assert str(llm.client.base_url) == "https://api.openai.com/v1/"
    assert "offline" not in llm.description


def test_a_server_that_needs_no_key_is_reached_without_one():
    llm = build_llm(LlmSettings(OPENAI_BASE_URL="http://127.0.0.1:11434/v1"))
    assert str(llm.client.base_url) == "http://127.0.0.1:11434/v1/"
    assert "offline" not in llm.description


def test_nothing_configured_is_an_error_that_says_what_to_set_not_the_offline_model():
    with pytest.raises(LlmConfigurationError, match="OPENAI_API_KEY_PARAMETER") as raised:
        build_llm(LlmSettings())
    assert "LLM_PROVIDER=offline" in str(raised.value)


def test_a_key_parameter_that_cannot_be_read_is_an_error_naming_it():
    with mock_aws(), pytest.raises(LlmConfigurationError, match="OPENAI_API_KEY_PARAMETER '/replyloop/missing-key'"):
        build_llm(LlmSettings(OPENAI_API_KEY_PARAMETER="/replyloop/missing-key"))


def test_a_key_parameter_that_holds_no_key_is_an_error_naming_it():
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/replyloop/blank-key", Value=" ", Type="SecureString"
        )
        with pytest.raises(LlmConfigurationError, match="'/replyloop/blank-key' holds no key"):
            build_llm(LlmSettings(OPENAI_API_KEY_PARAMETER="/replyloop/blank-key"))


def test_the_provider_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.setenv("LLM_PROVIDER", "offline")
    clear_all()
    try:
        assert get_llm_settings().provider == "offline"
    finally:
        clear_all()
    with pytest.raises(ValidationError, match="LLM_PROVIDER"):
        LlmSettings(LLM_PROVIDER="gpt-4o")


def test_the_template_names_the_provider_for_every_function_and_offers_what_the_code_accepts():
    template = load_template(TEMPLATE)
    parameter = template["Parameters"]["LlmProvider"]
    assert parameter["Default"] == "offline"  # a first deploy runs with no key, labelled
    assert set(parameter["AllowedValues"]) == {"openai", "offline"}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["LLM_PROVIDER"] == {"Ref": "LlmProvider"}

"""One settings model per function: what it requires, the template gives; what is missing, it names."""

from __future__ import annotations

import pytest

from replyloop.caches import clear_all
from replyloop.local.template import load_template
from replyloop.settings import (
    ApiSettings,
    EnvModel,
    RetrainFunctionSettings,
    SettingsError,
    SweeperSettings,
    TableSettings,
    WorkerSettings,
    load,
)
from tests.conftest import TEMPLATE

MODELS: dict[str, type[EnvModel]] = {
    "functions/api/": ApiSettings,
    "functions/explain_worker/": WorkerSettings,
    "functions/correct_worker/": WorkerSettings,
    "functions/outbox_sweeper/": SweeperSettings,
    "functions/retrain/": RetrainFunctionSettings,
}


def required(model: type[EnvModel]) -> set[str]:
    return {str(field.alias) for field in model.model_fields.values() if field.is_required()}


def test_the_template_gives_every_function_what_its_settings_model_requires():
    template = load_template(TEMPLATE)
    shared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    functions = {
        resource["Properties"]["CodeUri"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert set(functions) == set(MODELS)
    for code_uri, properties in functions.items():
        own = set((properties.get("Environment") or {}).get("Variables") or {})
        missing = required(MODELS[code_uri]) - shared - own
        assert not missing, f"{code_uri} lacks {sorted(missing)}"
    assert "RETRAIN_STATE_MACHINE_ARN" in required(ApiSettings)
    assert "TRAINING_BUCKET" in required(RetrainFunctionSettings)


def test_a_missing_setting_fails_with_its_name(monkeypatch: pytest.MonkeyPatch):
    for name in ("TABLE_NAME", "EXPLAIN_QUEUE_URL", "CORRECT_QUEUE_URL", "TRAINING_BUCKET"):
        monkeypatch.setenv(name, f"the-{name.lower()}")
    monkeypatch.setenv("LLM_PROVIDER", "offline")
    monkeypatch.setenv("RETRAIN_STATE_MACHINE_ARN", "")  # empty counts as unset
    clear_all()
    try:
        with pytest.raises(SettingsError, match="ApiSettings: RETRAIN_STATE_MACHINE_ARN: Field required"):
            load(ApiSettings)
        monkeypatch.setenv("RETRAIN_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:1:stateMachine:retrain")
        api = load(ApiSettings)
        assert load(TableSettings) is api  # a section is read from the function's model, not again
        assert api.table_name == "the-table_name"
    finally:
        clear_all()


@pytest.mark.parametrize("model", [ApiSettings, WorkerSettings, RetrainFunctionSettings])
def test_a_function_that_drafts_must_name_a_way_to_reach_its_model(monkeypatch: pytest.MonkeyPatch, model):
    for name in ("TABLE_NAME", "EXPLAIN_QUEUE_URL", "CORRECT_QUEUE_URL", "TRAINING_BUCKET"):
        monkeypatch.setenv(name, f"the-{name.lower()}")
    monkeypatch.setenv("RETRAIN_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:1:stateMachine:retrain")
    monkeypatch.setenv("LLM_PROVIDER", "openai")
    clear_all()
    try:
        with pytest.raises(SettingsError, match=f"{model.__name__}: .*OPENAI_API_KEY_PARAMETER"):
            load(model)
        monkeypatch.setenv("OPENAI_API_KEY_PARAMETER", "/replyloop/openai-key")  # resolved on first use
        assert load(model).api_key_parameter == "/replyloop/openai-key"
    finally:
        clear_all()


def test_the_sweeper_never_calls_the_model_and_needs_no_model_settings(monkeypatch: pytest.MonkeyPatch):
    for name in ("TABLE_NAME", "EXPLAIN_QUEUE_URL", "CORRECT_QUEUE_URL", "TRAINING_BUCKET"):
        monkeypatch.setenv(name, f"the-{name.lower()}")
    monkeypatch.setenv("LLM_PROVIDER", "openai")
    clear_all()
    try:
        assert load(SweeperSettings).table_name == "the-table_name"
    finally:
        clear_all()

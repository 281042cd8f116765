"""The bedrock-customization trainer against moto's Bedrock: one job per run, polled to its end, refusals named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.bedrock.models import bedrock_backends
from moto.core import DEFAULT_ACCOUNT_ID

from replyloop.adapters.trainers import BedrockCustomizationTrainer, bedrock_job_name
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.retrain import PromptMaterial
from replyloop.domain.runs import TrainerError, TrainingContext
from replyloop.domain.versions import AssistantVersion, VersionStatus

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/replyloop-bedrock-customization"
BASE = "amazon.nova-micro-v1:0:128k"


def context(run_id: str = "4f1c0de5a1b2") -> TrainingContext:
    active = AssistantVersion("v3", "gpt-4o-mini", "reply", 3, VersionStatus.ACTIVE, NOW)
    return TrainingContext(
        run_id=run_id,
        active=active,
        active_prompt=PromptVersion("reply", 3, "You are a support assistant.", NOW),
        material=PromptMaterial(),
        files={
            "train.jsonl": f"s3://training/retrain/{run_id}/train.jsonl",
            "validation.jsonl": f"s3://training/retrain/{run_id}/validation.jsonl",
        },
        now=NOW,
    )


@pytest.fixture
def bedrock() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("bedrock", region_name="us-east-1")


def trainer(client: Any, **overrides: Any) -> BedrockCustomizationTrainer:
    options = {"role_arn": ROLE, "base_model": BASE, "output_uri": "s3://training/retrain", **overrides}
    return BedrockCustomizationTrainer(client, **options)


def moto_job(name: str) -> Any:
    return bedrock_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].model_customization_jobs[name]


def test_a_run_starts_one_job_named_after_it_with_its_files_and_a_retry_finds_it(bedrock):
    first = trainer(bedrock).start(context())
    again = trainer(bedrock).start(context())  # a retried step
    jobs = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert [job["jobName"] for job in jobs] == [bedrock_job_name("4f1c0de5a1b2")] == ["replyloop-4f1c0de5a1b2"]
    assert first.status == again.status == "running" and first.fine_tune_id == again.fine_tune_id
    job = bedrock.get_model_customization_job(jobIdentifier="replyloop-4f1c0de5a1b2")
    assert job["trainingDataConfig"]["s3Uri"] == "s3://training/retrain/4f1c0de5a1b2/train.jsonl"
    assert job["validationDataConfig"]["validators"] == [
        {"s3Uri": "s3://training/retrain/4f1c0de5a1b2/validation.jsonl"}
    ]
    assert job["outputDataConfig"]["s3Uri"] == "s3://training/retrain/4f1c0de5a1b2/bedrock-output/"
    assert job["roleArn"] == ROLE and job["baseModelArn"].endswith(f"foundation-model/{BASE}")
    assert first.model == "gpt-4o-mini"  # nothing trained yet: the active model until the job completes


@pytest.mark.parametrize(
    ("status", "expected", "says"),
    [
        ("InProgress", "running", "is InProgress"),
        ("Stopping", "running", "is Stopping"),
        ("Completed", "succeeded", "needs Bedrock's Converse API"),
        ("Failed", "failed", "failed: Failure Message"),  # moto's failure message
        ("Stopped", "cancelled", "was stopped"),
    ],
)
def test_the_check_step_reads_the_jobs_status(bedrock, status, expected, says):
    started = trainer(bedrock).start(context())
    moto_job("replyloop-4f1c0de5a1b2").status = status
    polled = trainer(bedrock).poll(context(), started)
    assert polled.status == expected and says in polled.detail
    if expected == "succeeded":
        assert polled.model.endswith(":custom-model/replyloop-4f1c0de5a1b2-replyloop-4f1c0de5a1b2")


def test_a_run_id_that_is_no_job_name_is_made_into_one():
    assert bedrock_job_name("weekly_2026.12.07 run") == "replyloop-weekly-2026-12-07-run"
    assert len(bedrock_job_name("x" * 100)) == 63


def test_without_a_role_or_a_base_model_the_trainer_says_what_to_set(bedrock):
    with pytest.raises(TrainerError, match="BEDROCK_CUSTOMIZATION_ROLE_ARN"):
        trainer(bedrock, role_arn=None).start(context())
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []


def test_a_job_bedrock_refuses_fails_with_the_reason_and_the_trainer_to_use_next(bedrock):
    # moto validates the output location as Bedrock does: a refusal of the request itself.
    with pytest.raises(TrainerError) as refused:
        trainer(bedrock, output_uri="training/retrain").start(context())
    message = str(refused.value)
    assert message.startswith("Bedrock refused the model customization job (ValidationException:")
    assert "Use trainer gepa or compile" in message

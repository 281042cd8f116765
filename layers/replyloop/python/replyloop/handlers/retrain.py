"""The retrain state machine's one function: `{"step": ..., "runId": ...}` -> that step's result.

Each Task state of `statemachines/retrain.asl.json` names its step in the payload. Errors are
raised, never returned, so the state machine's Retry (transient: storage, model, throttling) and
Catch (everything else, recorded by the `fail` step) see them by class name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from replyloop.domain.deadline import Deadline
from replyloop.domain.errors import InvalidRequestError
from replyloop.handlers.observability import discard_unpublished_metrics, logger, metrics, tracer
from replyloop.services import retrain
from replyloop.settings import RetrainFunctionSettings, load
from replyloop.wiring import (
    get_llm,
    get_llm_settings,
    get_redactor,
    get_registry,
    get_retrain_runs,
    get_retrain_settings,
    get_store,
    get_stress_log,
    outputs_for,
    trainer_for,
    utc_now,
)


class StepEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    step: str
    run_id: str = Field(alias="runId", min_length=1, max_length=80)
    trigger: str = "schedule"
    requested_by: str | None = Field(default=None, alias="requestedBy")
    options: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""
    polls: int = 0
    max_polls: int = Field(default=1, alias="maxPolls")
    interaction_id: str = Field(default="", alias="interactionId")
    error: dict[str, Any] | None = None
    task_token: str = Field(default="", alias="taskToken")
    decision: dict[str, Any] = Field(default_factory=dict)


def deps(context: LambdaContext | None = None) -> retrain.Deps:
    deadline = None
    if context is not None:
        deadline = Deadline(context.get_remaining_time_in_millis, get_llm_settings().deadline_margin_seconds)
    return retrain.Deps(
        runs=get_retrain_runs(),
        registry=get_registry(),
        store=get_store(),
        stress_log=get_stress_log(),
        llm=get_llm(),
        llm_settings=get_llm_settings(),
        settings=get_retrain_settings(),
        trainer_for=trainer_for,
        outputs_for=outputs_for,
        redactor=get_redactor(),
        now=utc_now(),
        deadline=deadline,
    )


STEPS: dict[str, Callable[[retrain.Deps, StepEvent], dict[str, Any]]] = {
    "begin": lambda d, e: retrain.begin(
        d, e.run_id, e.trigger, retrain.RunOptions.model_validate(e.options), e.requested_by
    ),
    "export": lambda d, e: retrain.export(d, e.run_id),
    "skip": lambda d, e: retrain.skip(d, e.run_id, e.reason),
    "train": lambda d, e: retrain.train(d, e.run_id),
    "poll": lambda d, e: retrain.poll(d, e.run_id, e.polls, e.max_polls),
    "optimize": lambda d, e: retrain.optimize(d, e.run_id),
    "register": lambda d, e: retrain.register(d, e.run_id),
    "prepare_evaluation": lambda d, e: retrain.prepare_evaluation(d, e.run_id),
    "evaluate_case": lambda d, e: retrain.evaluate_case(d, e.run_id, e.interaction_id),
    "finish_evaluation": lambda d, e: retrain.finish_evaluation(d, e.run_id),
    "await_approval": lambda d, e: retrain.await_approval(d, e.run_id, e.task_token),
    "conclude_approval": lambda d, e: retrain.conclude_approval(d, e.run_id, e.decision),
    "expire": lambda d, e: retrain.expire(d, e.run_id),
    "fail": lambda d, e: retrain.fail(d, e.run_id, e.error),
}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    discard_unpublished_metrics()
    load(RetrainFunctionSettings)
    try:
        step = StepEvent.model_validate(event)
    except ValidationError as error:
        raise InvalidRequestError(f"Not a retrain step: {error}") from error
    run = STEPS.get(step.step)
    if run is None:
        raise InvalidRequestError(f"Unknown retrain step {step.step!r}; one of {sorted(STEPS)}.")
    logger.append_keys(runId=step.run_id, step=step.step)
    result = run(deps(context), step)
    logger.info("Retrain step finished", extra={"result": result})
    return result

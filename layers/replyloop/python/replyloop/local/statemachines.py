"""Step Functions in the local stack: the template's state machines run by moto, tasks run in-process.

moto executes real ASL (Map, Retry, Catch, Wait) once configured with
`{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}`. Its Lambda
tasks call `LambdaSimpleBackend.invoke`, which only echoes; `lambda_seam` replaces it with a call
to our handler. A raised exception comes back the way Lambda reports one (`FunctionError` and
`{"errorType": <exception class>, "errorMessage": ...}`), so `Retry` and `Catch` match on the
exception's class name exactly as they do in AWS.
"""

from __future__ import annotations

import io
import json
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from replyloop.local.template import Resolver, TemplateError, resources_of_type

LAMBDA_ROLE = "replyloop-local-lambda"
STATES_ROLE = "replyloop-local-states"
TRUST = {
    "lambda": {"Service": "lambda.amazonaws.com"},
    "states": {"Service": "states.amazonaws.com"},
}


def _role_arn(iam: Any, name: str, service: str) -> str:
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": TRUST[service], "Action": "sts:AssumeRole"}],
        }
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"])


def _placeholder_zip() -> bytes:
    """moto wants code; the real code runs in-process through `lambda_seam`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def register_functions(template: Any, session: Any, resolver: Resolver, stack_name: str) -> dict[str, str]:
    """Create every function in moto's Lambda, so ASL can name it by ARN; returns physical -> logical."""
    functions = resources_of_type(template, "AWS::Serverless::Function")
    if not functions:
        return {}
    role = _role_arn(session.client("iam"), LAMBDA_ROLE, "lambda")
    client = session.client("lambda")
    names: dict[str, str] = {}
    for logical_id in functions:
        name = f"{stack_name}-{logical_id}"
        arn = client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.lambda_handler",
            Code={"ZipFile": _placeholder_zip()},
        )["FunctionArn"]
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = arn
        names[name] = logical_id
    return names


def _definition(spec: dict[str, Any], root: Path, resolver: Resolver) -> str:
    props = spec.get("Properties") or {}
    if "Definition" in props:
        definition = json.dumps(props["Definition"])
    elif "DefinitionUri" in props:
        path = root / str(props["DefinitionUri"])
        text = path.read_text(encoding="utf-8")
        definition = text if path.suffix == ".json" else json.dumps(yaml.safe_load(text))
    else:
        raise TemplateError("A state machine needs Definition or DefinitionUri (local file)")
    substitutions = resolver.resolve(props.get("DefinitionSubstitutions") or {})
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


def create_state_machines(
    template: Any, session: Any, resolver: Resolver, root: Path, stack_name: str
) -> dict[str, dict[str, Any]]:
    """Create each AWS::Serverless::StateMachine; returns logical id -> {arn, name, schedules}."""
    machines = resources_of_type(template, "AWS::Serverless::StateMachine")
    if not machines:
        return {}
    role = _role_arn(session.client("iam"), STATES_ROLE, "states")
    sfn, events = session.client("stepfunctions"), session.client("events")
    created: dict[str, dict[str, Any]] = {}
    for logical_id, spec in machines.items():
        props = spec.get("Properties") or {}
        name = str(resolver.resolve(props.get("Name") or f"{stack_name}-{logical_id}"))
        arn = sfn.create_state_machine(
            name=name,
            definition=_definition(spec, root, resolver),
            roleArn=str(resolver.resolve(props["Role"])) if "Role" in props else role,
            type=str(props.get("Type", "STANDARD")),
        )["stateMachineArn"]
        resolver.refs[logical_id] = arn
        resolver.attributes[(logical_id, "Arn")] = arn
        resolver.attributes[(logical_id, "Name")] = name
        schedules = []
        for event_name, event in (props.get("Events") or {}).items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            event_props = resolver.resolve(event.get("Properties") or {})
            expression = event_props.get("Schedule") or event_props.get("ScheduleExpression")
            rule = f"{name}-{event_name}"[:64]
            # moto stores the rule but never fires it; runs start on demand locally.
            events.put_rule(Name=rule, ScheduleExpression=expression, State="ENABLED")
            events.put_targets(Rule=rule, Targets=[{"Id": "statemachine", "Arn": arn, "RoleArn": role}])
            schedules.append(expression)
        created[logical_id] = {"arn": arn, "name": name, "schedules": schedules}
    return created


def lambda_error_payload(error: BaseException) -> bytes:
    """The payload Lambda returns for an unhandled exception."""
    return json.dumps(
        {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "stackTrace": traceback.format_exception(error)[-5:],
        }
    ).encode()


@contextmanager
def lambda_seam(functions: dict[str, str], invoke: Callable[[str, Any], Any]) -> Iterator[None]:
    """Route moto's Lambda invocations of our functions (physical name -> logical id) to `invoke`."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke_in_process(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> str | bytes | None:
        # A name, or an ARN arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>].
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        logical_id = functions.get(name)
        if logical_id is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        text = body.decode() if isinstance(body, bytes) else body
        event = json.loads(text) if text else {}
        try:
            result = invoke(logical_id, event)
        except Exception as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return lambda_error_payload(error)
        return json.dumps(result).encode()

    LambdaSimpleBackend.invoke = invoke_in_process  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]

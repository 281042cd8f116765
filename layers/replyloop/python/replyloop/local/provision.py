"""Create the template's resources in moto (or any AWS endpoint) and describe its functions."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from replyloop.local.statemachines import create_state_machines, register_functions
from replyloop.local.template import (
    Resolver,
    TemplateError,
    function_globals,
    load_template,
    resources_of_type,
)

TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
)
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


@dataclass(frozen=True)
class HttpRoute:
    """One `HttpApi` event: method, path template and whether the JWT authorizer guards it."""

    method: str
    path: str
    authorized: bool
    function: str


@dataclass(frozen=True)
class QueueSource:
    """One `SQS` event: the function consumes this queue like an event source mapping."""

    function: str
    queue_logical_id: str
    batch_size: int
    report_batch_item_failures: bool
    batching_window_seconds: int


@dataclass(frozen=True)
class FunctionSchedule:
    """A `Schedule` event with a rate: the local stack invokes the function that often."""

    function: str
    expression: str
    seconds: int


def rate_seconds(expression: str) -> int | None:
    """`rate(5 minutes)` -> 300; cron expressions are not run locally (None)."""
    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not found:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    # ReservedConcurrentExecutions, else the local stack's default: at most this many events at once.
    concurrency: int | None = None
    _entry: Callable[[dict[str, Any], Any], Any] | None = None

    def entry_point(self, module_name: str | None = None) -> Callable[[dict[str, Any], Any], Any]:
        """Import `<CodeUri>/<module>.py` once, under a name of its own (every function has an app.py)."""
        if self._entry is None:
            module_name_in_code, _, attribute = self.handler.rpartition(".")
            path = self.code_dir / f"{module_name_in_code.replace('.', '/')}.py"
            unique = module_name or f"replyloop_function_{self.logical_id}"
            spec = importlib.util.spec_from_file_location(unique, path)
            if spec is None or spec.loader is None:
                raise TemplateError(f"{self.logical_id}: cannot load {path}")
            module: ModuleType = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module
            spec.loader.exec_module(module)
            self._entry = getattr(module, attribute)
        return self._entry


@dataclass
class QueueInfo:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None


@dataclass
class Provisioned:
    """What the local stack created, by logical id, and the functions that use it."""

    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, QueueInfo] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[HttpRoute] = field(default_factory=list)
    queue_sources: list[QueueSource] = field(default_factory=list)
    schedules: list[FunctionSchedule] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    # Physical Lambda name -> logical id, for functions registered in moto (state machine tasks).
    lambda_names: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, dict[str, Any]] = field(default_factory=dict)

    def shared_environment(self) -> dict[str, str]:
        """All functions run in one process locally, so their variables must agree."""
        merged: dict[str, str] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                if key in merged and merged[key] != value:
                    raise TemplateError(
                        f"Functions disagree on {key} ({merged[key]!r} vs {value!r}); "
                        "the local stack runs them in one process and needs one value."
                    )
                merged[key] = value
        return merged


def physical_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"


def provision(
    template_path: Path,
    session: Any,
    *,
    stack_name: str = "replyloop-local",
    region: str = "us-east-1",
    account_id: str = "123456789012",
    visibility_timeout: int | None = None,
) -> Provisioned:
    """Create every table, queue and bucket of the template and describe its functions.

    `session` is a boto3 Session whose clients point at moto (the local stack) or at AWS.
    """
    template = load_template(template_path)
    resolver = Resolver(template, region=region, account_id=account_id, stack_name=stack_name)
    result = Provisioned()
    _create_tables(template, session, resolver, result, stack_name)
    _create_queues(template, session, resolver, result, stack_name, visibility_timeout)
    _create_buckets(template, session, resolver, result, stack_name)
    if resources_of_type(template, "AWS::Serverless::StateMachine"):
        result.lambda_names = register_functions(template, session, resolver, stack_name)
        result.state_machines = create_state_machines(template, session, resolver, template_path.parent, stack_name)
    _placeholder_refs(template, resolver, stack_name, region, account_id)
    _describe_functions(template, template_path.parent, resolver, result)
    handled = {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::S3::Bucket",
        "AWS::Serverless::Function",
        "AWS::Serverless::StateMachine",
    }
    for name, spec in (template.get("Resources") or {}).items():
        if spec["Type"] not in handled:
            result.skipped[name] = spec["Type"]
    return result


def _create_tables(template: Any, session: Any, resolver: Resolver, result: Provisioned, stack: str) -> None:
    client = session.client("dynamodb")
    for logical_id, spec in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resolver.resolve(spec.get("Properties") or {})
        name = props.get("TableName") or physical_name(stack, logical_id)
        kwargs = {key: props[key] for key in TABLE_KEYS if key in props}
        kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
        try:
            client.create_table(TableName=name, **kwargs)
        except client.exceptions.ResourceInUseException:
            # Kept from an earlier run (`replyloop dev start --data DIR`): reuse it with its items.
            if not _same_keys(client.describe_table(TableName=name)["Table"], kwargs):
                raise TemplateError(
                    f"Table {name} exists with other keys or indexes than template.yaml gives it; "
                    "start with a fresh --data directory."
                ) from None
        else:
            ttl = props.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        arn = client.describe_table(TableName=name)["Table"]["TableArn"]
        result.tables[logical_id] = name
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = arn


def _same_keys(table: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def indexes(spec: dict[str, Any], key: str) -> dict[str, Any]:
        return {index["IndexName"]: index["KeySchema"] for index in spec.get(key) or []}

    return table["KeySchema"] == wanted["KeySchema"] and all(
        indexes(table, key) == indexes(wanted, key) for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
    )


def _create_queues(
    template: Any, session: Any, resolver: Resolver, result: Provisioned, stack: str, visibility: int | None
) -> None:
    """Queues, dead-letter queues first. `visibility` overrides every VisibilityTimeout (local testing only)."""
    client = session.client("sqs")
    pending = dict(resources_of_type(template, "AWS::SQS::Queue"))
    while pending:
        progressed = False
        for logical_id, spec in list(pending.items()):
            try:
                props = resolver.resolve(spec.get("Properties") or {})
            except TemplateError:
                continue  # its dead-letter queue is not created yet
            name = props.get("QueueName") or physical_name(stack, logical_id)
            if props.get("FifoQueue") and not name.endswith(".fifo"):
                name += ".fifo"
            attributes = {
                key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
                for key in QUEUE_ATTRIBUTES
                if key in props
            }
            if visibility is not None:
                props["VisibilityTimeout"] = visibility
                attributes["VisibilityTimeout"] = str(visibility)
            redrive = props.get("RedrivePolicy")
            if redrive:
                attributes["RedrivePolicy"] = json.dumps(redrive)
            url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            result.queues[logical_id] = QueueInfo(
                logical_id=logical_id,
                name=name,
                url=url,
                arn=arn,
                visibility_timeout=int(props.get("VisibilityTimeout", 30)),
                dead_letter_arn=redrive.get("deadLetterTargetArn") if redrive else None,
                max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            )
            resolver.refs[logical_id] = url
            resolver.attributes[(logical_id, "Arn")] = arn
            resolver.attributes[(logical_id, "QueueName")] = name
            resolver.attributes[(logical_id, "QueueUrl")] = url
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise TemplateError(f"Cannot resolve queues {sorted(pending)} (a dead-letter queue is missing?)")


def _create_buckets(template: Any, session: Any, resolver: Resolver, result: Provisioned, stack: str) -> None:
    client = session.client("s3")
    for logical_id, spec in resources_of_type(template, "AWS::S3::Bucket").items():
        props = resolver.resolve(spec.get("Properties") or {})
        name = props.get("BucketName") or physical_name(stack, logical_id).lower()
        client.create_bucket(Bucket=name)
        if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            # Versions matter locally too: an erasure must delete a rewritten export's earlier versions.
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        result.buckets[logical_id] = name
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _placeholder_refs(template: Any, resolver: Resolver, stack: str, region: str, account: str) -> None:
    """Resources the local stack does not create still get a name, so `!Ref` to them resolves."""
    for logical_id, spec in (template.get("Resources") or {}).items():
        if logical_id in resolver.refs:
            continue
        name = physical_name(stack, logical_id)
        resolver.refs[logical_id] = name
        service = str(spec.get("Type", "")).split("::")[1].lower() if "::" in str(spec.get("Type")) else "local"
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:{service}:{region}:{account}:{name}"


def _reserved_concurrency(props: dict[str, Any], defaults: dict[str, Any], resolver: Resolver) -> int | None:
    value = resolver.resolve(props.get("ReservedConcurrentExecutions", defaults.get("ReservedConcurrentExecutions")))
    return int(value) if value is not None and str(value).isdigit() else None


def _describe_functions(template: Any, root: Path, resolver: Resolver, result: Provisioned) -> None:
    defaults = function_globals(template)
    default_env = (defaults.get("Environment") or {}).get("Variables") or {}
    http_apis = resources_of_type(template, "AWS::Serverless::HttpApi")
    for logical_id, spec in resources_of_type(template, "AWS::Serverless::Function").items():
        props = spec.get("Properties") or {}
        own_env = (props.get("Environment") or {}).get("Variables") or {}
        environment = {key: str(value) for key, value in resolver.resolve({**default_env, **own_env}).items()}
        result.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=(root / str(props.get("CodeUri", defaults.get("CodeUri", ".")))).resolve(),
            handler=str(props.get("Handler", defaults.get("Handler", "app.lambda_handler"))),
            environment=environment,
            timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
            concurrency=_reserved_concurrency(props, defaults, resolver),
        )
        for event in (props.get("Events") or {}).values():
            kind, event_props = event.get("Type"), event.get("Properties") or {}
            if kind == "HttpApi":
                api_ref = str((event_props.get("ApiId") or {}).get("Ref", ""))
                api = http_apis.get(api_ref, {}).get("Properties") or {}
                default_authorizer = (api.get("Auth") or {}).get("DefaultAuthorizer")
                authorizer = (event_props.get("Auth") or {}).get("Authorizer", default_authorizer)
                result.routes.append(
                    HttpRoute(
                        method=str(event_props.get("Method", "ANY")).upper(),
                        path=str(event_props.get("Path", "/{proxy+}")),
                        authorized=bool(authorizer) and authorizer != "NONE",
                        function=logical_id,
                    )
                )
            elif kind in ("Schedule", "ScheduleV2"):
                expression = str(event_props.get("Schedule") or event_props.get("ScheduleExpression") or "")
                seconds = rate_seconds(expression)
                if seconds:
                    result.schedules.append(FunctionSchedule(logical_id, expression, seconds))
            elif kind == "SQS":
                queue = event_props.get("Queue") or {}
                target = queue.get("Fn::GetAtt", [None])[0] if isinstance(queue, dict) else None
                if target not in result.queues:
                    raise TemplateError(f"{logical_id}: SQS event must use !GetAtt <Queue>.Arn")
                result.queue_sources.append(
                    QueueSource(
                        function=logical_id,
                        queue_logical_id=target,
                        batch_size=int(event_props.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (event_props.get("FunctionResponseTypes") or []),
                        batching_window_seconds=int(event_props.get("MaximumBatchingWindowInSeconds", 0)),
                    )
                )

"""The lazy X-Ray provider: no SDK import where tracing is off; real subsegments and patches where it is on.

Each case runs in a fresh interpreter: what is imported, and X-Ray's patches, are per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT


def run_python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_NAME": "t",
            **{name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ},
            **env,
        },
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_disabled_tracing_never_imports_the_xray_sdk():
    # Given tracing disabled, when a handler module loads and a traced handler runs,
    out = run_python(
        """
        import sys
        from replyloop.handlers.observability import tracer, xray

        @tracer.capture_lambda_handler
        def handler(event, context):
            tracer.put_annotation("k", "v")
            return {"ok": True}

        assert handler({}, None) == {"ok": True}
        print("aws_xray_sdk.core" in sys.modules, xray.loaded)
        """,
        POWERTOOLS_TRACE_DISABLED="true",
    )
    # then the X-Ray SDK's core was never imported.
    assert out == "False False"


def test_enabled_tracing_loads_the_recorder_on_first_use_and_applies_deferred_patches():
    out = run_python(
        """
        import sys
        from aws_lambda_powertools import Tracer
        from replyloop.handlers.tracing import LazyXRayProvider

        provider = LazyXRayProvider()
        tracer = Tracer(service="t", disabled=False, patch_modules=["httplib"], provider=provider)
        before = ("aws_xray_sdk.core" in sys.modules, provider.loaded)

        import aws_xray_sdk.core
        from aws_xray_sdk.core import patcher, xray_recorder

        names = []
        xray_recorder.begin_segment("test")
        with tracer.provider.in_subsegment(name="## handler") as subsegment:
            subsegment.put_annotation(key="ColdStart", value=True)
            names.append(subsegment.name)
        xray_recorder.end_segment()
        print(before, provider.loaded, names, "httplib" in patcher._PATCHED_MODULES,
              xray_recorder.streaming_threshold)
        """,
        AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
        AWS_XRAY_SDK_ENABLED="true",
    )
    assert out == "(False, False) True ['## handler'] True 0"


def test_snapstart_hooks_register_with_the_runtime_library_and_restore_clears_caches(monkeypatch):
    import types

    from replyloop.handlers import snapstart
    from replyloop.settings import TableSettings, load

    registered: dict[str, list[object]] = {"before": [], "after": []}
    library = types.ModuleType("snapshot_restore_py")
    library.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]
    library.register_after_restore = registered["after"].append  # type: ignore[attr-defined]

    assert snapstart.register() is False  # no SnapStart library outside Lambda's runtime
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    assert snapstart.register() is True
    assert registered == {"before": [snapstart.before_snapshot], "after": [snapstart.after_restore]}

    monkeypatch.setenv("TABLE_NAME", "before-snapshot")
    snapstart.after_restore()
    assert load(TableSettings).table_name == "before-snapshot"
    monkeypatch.setenv("TABLE_NAME", "after-restore")
    assert load(TableSettings).table_name == "before-snapshot"  # read once, then kept
    snapstart.after_restore()
    assert load(TableSettings).table_name == "after-restore"


def test_the_api_imports_a_router_when_a_request_needs_it_and_everything_for_the_spec():
    out = run_python(
        """
        import sys
        from types import SimpleNamespace
        from replyloop.handlers.api import lambda_handler

        context = SimpleNamespace(function_name="api", memory_limit_in_mb=512, invoked_function_arn="arn",
                                  aws_request_id="r", get_remaining_time_in_millis=lambda: 29_000)

        def loaded():
            names = ("assistant", "feedback", "interactions", "learning", "retrain", "stress", "versions")
            return [n for n in names if f"replyloop.handlers.api.{n}" in sys.modules]

        def event(path):
            return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
                    "headers": {}, "isBase64Encoded": False,
                    "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
                                       "requestId": "r", "stage": "$default"}}

        print(loaded(), "aws_lambda_powertools.event_handler.openapi.models" in sys.modules)
        answer = lambda_handler(event("/api/feedback/analytics"), context)
        print(answer["statusCode"], loaded())
        answer = lambda_handler(event("/openapi.json"), context)
        print(answer["statusCode"], loaded())
        """,
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        LLM_PROVIDER="offline",
        EXPLAIN_QUEUE_URL="e",
        CORRECT_QUEUE_URL="c",
        RETRAIN_STATE_MACHINE_ARN="arn:aws:states:us-east-1:1:stateMachine:r",
        TRAINING_BUCKET="training",
    )
    assert out.splitlines() == [
        "[] False",  # a cold start imports no router and not Powertools' OpenAPI models
        "401 ['feedback']",  # the request's router only (and its route's auth answered)
        "200 ['assistant', 'feedback', 'interactions', 'learning', 'retrain', 'stress', 'versions']",
    ]


def test_a_worker_cold_start_loads_only_what_its_settings_and_handler_need():
    # Given a worker's entry point imported as Lambda's init does,
    out = run_python(
        """
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("app", "functions/explain_worker/app.py")
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        heavy = ("boto3", "openai", "aws_lambda_powertools.utilities.idempotency", "replyloop.domain.runs",
                 "replyloop.domain.retrain", "replyloop.domain.stress_batch")
        print([name for name in heavy if name in sys.modules])
        from replyloop import settings
        from replyloop.models import llm
        print(settings.WorkerSettings.__pydantic_complete__, settings.ApiSettings.__pydantic_complete__,
              llm.FailureExplanation.__pydantic_complete__)
        app.warm()  # what SnapStart's before_snapshot hook runs
        print([name for name in heavy if name in sys.modules])
        """,
        POWERTOOLS_TRACE_DISABLED="true",
        LLM_PROVIDER="offline",
        EXPLAIN_QUEUE_URL="e",
        CORRECT_QUEUE_URL="c",
        IDEMPOTENCY_TABLE="idempotency",
    )
    assert out.splitlines() == [
        # then neither boto3 (with Powertools' idempotency), nor the model SDK, nor the retrain's domain is imported,
        "[]",
        # only the worker's own settings model is built (validated at cold start); other models wait for first use,
        "True False False",
        # and the hook loads what the first batch would.
        "['boto3', 'aws_lambda_powertools.utilities.idempotency']",
    ]

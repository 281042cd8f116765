"""Every per-process cache of the product in one place (what a Lambda container keeps between events).

Tests, the benchmarks and anything that points the same process at a new AWS endpoint call
`clear_all()` so nothing built against the old one survives.
"""

from __future__ import annotations


def clear_all() -> None:
    from replyloop.adapters import batches, dynamodb, executions, llm, queue, registry, retrain_runs, stress_log
    from replyloop.handlers import workers
    from replyloop.services import retrain
    from replyloop.settings import get_settings

    for cached in (
        get_settings,
        dynamodb.get_store,
        registry.get_registry,
        llm.get_llm,
        llm.get_llm_settings,
        batches.get_batches,
        queue.get_job_queue,
        stress_log.get_stress_log,
        retrain_runs.get_retrain_runs,
        executions.get_executions,
        retrain.get_retrain_settings,
        workers._idempotent_job,
    ):
        cached.cache_clear()

"""Erasure on request against moto: one customer's interactions, everything learned from them and their export
lines are gone; other customers' data and the counted figures stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from replyloop import wiring
from replyloop.adapters.redaction import redact
from replyloop.domain.runs import NewStressRun
from replyloop.domain.stress import CaseResult
from replyloop.services.export import ExportOptions, export_training_data
from tests.unit.test_training import PROMPT, Rows, row

ADMIN = {"groups": "[admin]", "username": "lead"}


def record(api, customer: str | None, n: int, *, via: str = "interactions") -> str:
    body = {"message": f"Parcel {n} never arrived", "aiReply": "See FAQ.", "topic": "shipping"}
    if customer:
        body["customerId"] = customer
    if via == "feedback-replay":
        result = api("POST", "/api/feedback-replay", body={**body, "feedback": "no", "agentReply": f"Resent {n}."})
    else:
        result = api("POST", "/api/interactions", body=body)
    assert result.status == 201, result.body
    return result.body["interactionId"]


def no_verdict(api, interaction_id: str) -> None:
    result = api(
        "POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": False, "agentReply": "Resent today."}
    )
    assert result.status in (200, 201), result.body


def bucket_text(bucket: str) -> dict[str, str]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys}


def test_an_erasure_removes_one_customers_data_everywhere_and_keeps_the_figures(api, stack):
    mine = [record(api, "cust-1", n) for n in range(3)] + [record(api, "cust-1", 3, via="feedback-replay")]
    theirs = [record(api, "cust-2", n) for n in range(10, 13)] + [record(api, None, 20)]
    for interaction_id in mine[:3] + theirs:
        no_verdict(api, interaction_id)
    # A stress-test run that used one of the customer's interactions (the case id is the interaction's).
    log = wiring.get_stress_log()
    now = datetime.now(UTC)
    log.create_run(NewStressRun("st-1", "v1", "v2", "failed", 2), now)
    log.save_cases("st-1", [CaseResult(i, i, "Parcel?", "a", "b", 0.2, 0.6, "", 10, 0.0) for i in (mine[0], theirs[0])])
    # An export of all eight failed replies, written where a retrain run writes (S3, manifest with provenance).
    rows = [row(n, "shipping", interaction_id=i, message=f"Parcel {n} lost") for n, i in enumerate(mine + theirs)]
    bucket = stack.shared_environment()["TRAINING_BUCKET"]
    options = ExportOptions(min_not_useful=0, holdout_share=0.0, validation_share=0.0)
    export_training_data(
        Rows(rows), PROMPT, wiring.outputs_for("run-1"), options, redactor=redact, run_id="run-1", now=now
    )
    # The gepa trainer's checkpoint of that run (twice: a versioned object), whose candidates may quote the lines.
    for body in (b"candidate quoting Parcel 0 lost", b"a later checkpoint"):
        boto3.client("s3").put_object(Bucket=bucket, Key="retrain/run-1/gepa/checkpoint.tar.gz", Body=body)
    before = api("GET", "/api/feedback/analytics", **ADMIN).body
    train_before = bucket_text(bucket)["retrain/run-1/train.jsonl"].splitlines()
    assert len(train_before) == 8

    refused = api("DELETE", "/api/customers/cust-1")  # an agent may not erase
    assert refused.status == 403
    erased = api("DELETE", "/api/customers/cust-1", **ADMIN)
    assert erased.status == 202, erased.body
    record_ = erased.body
    assert record_["status"] == "done" and record_["requestedBy"] == "lead"
    assert (record_["interactions"], record_["stressCases"]) == (4, 1)
    assert record_["items"] >= 4 * 4  # interaction, feedback, verdict history, training prompt at least
    assert record_["exportObjects"] >= 2  # train.jsonl and the manifest
    assert "cust-1" not in json.dumps(record_)  # the audit record names the customer by digest only

    for interaction_id in mine:
        assert api("GET", f"/api/interactions/{interaction_id}").status == 404
    for interaction_id in theirs:
        assert api("GET", f"/api/interactions/{interaction_id}").status == 200
    replay = api("GET", "/api/feedback/replay", params={"limit": 50}, **ADMIN).body["items"]
    assert {r["interactionId"] for r in replay} == set(theirs)
    assert {c.case_id for c in log.cases("st-1")} == {theirs[0]}
    files = bucket_text(bucket)
    train = files["retrain/run-1/train.jsonl"].splitlines()
    assert len(train) == 4 and set(train) < set(train_before)
    manifest = json.loads(files["retrain/run-1/manifest.json"])
    assert all(ids == theirs for ids in manifest["provenance"].values())  # SFT lines and DPO pairs alike
    assert "feedback_train.jsonl" in manifest["provenance"]  # the gepa trainer's cases too
    gepa = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix="retrain/run-1/gepa/")
    assert not gepa.get("Versions") and not gepa.get("DeleteMarkers")  # the checkpoint, every version, gone
    assert manifest["erasedLines"] == 4 * len(manifest["provenance"]) and len(manifest["provenance"]) >= 2
    # No earlier version of a rewritten object is left in the (versioned) bucket.
    versions = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix="retrain/run-1/train.jsonl")
    assert len(versions.get("Versions", [])) == 1
    # Counted figures stay: they hold no personal data.
    after = api("GET", "/api/feedback/analytics", **ADMIN).body
    assert (after["total"], after["notUsefulCount"]) == (before["total"], before["notUsefulCount"])
    # The record can be read back; erasing again finds nothing.
    again = api("GET", f"/api/erasures/{record_['erasureId']}", **ADMIN)
    assert again.status == 200 and again.body == record_
    second = api("DELETE", "/api/customers/cust-1", **ADMIN).body
    assert (second["status"], second["interactions"], second["exportObjects"]) == ("done", 0, 0)


def test_an_erasure_cut_short_is_pending_and_the_sweeper_finishes_it(api, stack):
    from replyloop.handlers.sweeper import lambda_handler as sweeper
    from replyloop.services import erasure
    from tests.helpers import FakeContext

    mine = [record(api, "cust-9", n) for n in range(30)]
    deps = wiring.erasure_deps(seconds_left=iter([60.0, 0.0]).__next__)  # time for one round of 25
    pending = erasure.request_erasure(deps, "cust-9", "lead")
    assert (pending.status.value, pending.erased.interactions) == ("pending", 25)
    status = api("GET", f"/api/erasures/{pending.erasure_id}", **ADMIN).body
    assert (status["status"], status["interactions"]) == ("pending", 25)

    result = sweeper({"source": "aws.events"}, FakeContext())
    assert (result["erasuresFinished"], result["erasuresPending"]) == (1, 0)
    done = api("GET", f"/api/erasures/{pending.erasure_id}", **ADMIN).body
    assert (done["status"], done["interactions"]) == ("done", 30)
    assert all(api("GET", f"/api/interactions/{i}").status == 404 for i in mine)
    item = (
        boto3.resource("dynamodb")
        .Table(stack.shared_environment()["TABLE_NAME"])
        .get_item(Key={"pk": f"ERASURE#{pending.erasure_id}", "sk": "ERASURE"})["Item"]
    )
    assert "customerId" not in item and "gsi1pk" not in item  # once done, no trace of whom


def test_the_customer_id_is_stored_and_shown(api):
    interaction_id = record(api, "cust-5", 1)
    assert api("GET", f"/api/interactions/{interaction_id}").body["customerId"] == "cust-5"
    assert api("GET", "/api/erasures/" + "0" * 32, **ADMIN).status == 404
    assert api("GET", "/api/erasures/not-an-id", **ADMIN).status == 422
    refused = api("POST", "/api/interactions", body={"message": "Hi", "aiReply": "Hello", "customerId": "a b/c"})
    assert refused.status == 422  # an id that could not be named in DELETE /api/customers/{customerId}
    assert api("DELETE", "/api/customers/" + "x" * 129, **ADMIN).status == 422
    assert api("DELETE", "/api/customers/tenant:7@acme.example", **ADMIN).status == 202

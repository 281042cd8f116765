"""The training review through the api handler: who may review, what is refused, and what the export then reads."""

from __future__ import annotations

from datetime import UTC, datetime

from replyloop import wiring
from replyloop.domain.entities import Improvement, Score
from replyloop.services.training_source import failed_reply

DRAFT = {"message": "Where is order 123?", "aiReply": "Shipping takes 3-5 days.", "topic": "shipping"}


def correction(api, author: str, groups: str = "[agent]", **overrides) -> str:
    """A frontend's exchange judged "not useful", with the author's own reply."""
    body = {**DRAFT, "feedback": "no", "agentReply": f"It ships tomorrow, says {author}.", **overrides}
    result = api("POST", "/api/feedback-replay", body=body, groups=groups, username=author)
    assert result.status == 201, result.body
    return result.body["interactionId"]


def listed(api, status: str, **params) -> list[str]:
    result = api("GET", "/api/training-examples", params={"status": status, **params}, groups="[reviewer]")
    assert result.status == 200, result.body
    return [item["interactionId"] for item in result.body["items"]]


def review(api, reviewer: str, groups: str = "[reviewer]", **body):
    return api("POST", "/api/training-examples/review", body=body, groups=groups, username=reviewer)


def test_an_agents_correction_waits_for_another_reviewer(api):
    mine = correction(api, "ana")
    by_reviewer = correction(api, "rui", groups="[reviewer]")
    assert listed(api, "pending") == [mine]  # a reviewer's own correction needs no second look
    assert listed(api, "approved") == [by_reviewer]

    # Agents may neither list nor review; nobody approves their own.
    assert api("GET", "/api/training-examples", groups="[agent]").status == 403
    assert review(api, "ana", groups="[agent]", approve=[mine]).status == 403
    own = review(api, "rui", approve=[by_reviewer])
    assert own.status == 200 and own.body["approved"] == []
    assert own.body["refused"] == [
        {"interactionId": by_reviewer, "reason": "your own correction: another reviewer must review it"}
    ]

    done = review(api, "rui", approve=[mine], note="checked the order")
    assert done.status == 200 and done.body["approved"] == [mine], done.body
    assert listed(api, "pending") == [] and set(listed(api, "approved")) == {mine, by_reviewer}
    view = api("GET", f"/api/interactions/{mine}").body
    assert view["trainingReview"]["status"] == "approved" and view["trainingReview"]["reviewedBy"] == "rui"
    assert view["trainingReview"]["note"] == "checked the order"


def test_rejected_ones_are_listed_and_unknown_or_useful_ones_are_refused(api):
    wrong = correction(api, "ana", agentReply="A full refund plus a $200 store credit!")
    useful = api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "yes"}).body["interactionId"]
    result = review(api, "rui", reject=[wrong], approve=[useful, "0" * 32])
    assert result.status == 200, result.body
    assert result.body["rejected"] == [wrong]
    reasons = {item["interactionId"]: item["reason"] for item in result.body["refused"]}
    assert reasons[useful].startswith("not a training example")
    assert reasons["0" * 32] == "no such interaction"
    assert listed(api, "rejected") == [wrong]
    both = review(api, "rui", approve=[wrong], reject=[wrong])
    assert both.status == 400 and "not both" in both.body["message"]


def test_topic_filter_and_pages(api):
    ids = [correction(api, "ana", topic="billing" if n % 2 else "shipping", message=f"Question {n}") for n in range(5)]
    assert set(listed(api, "pending", topic="billing")) == {ids[1], ids[3]}
    first = api("GET", "/api/training-examples", params={"limit": 2}, groups="[reviewer]").body
    second = api(
        "GET", "/api/training-examples", params={"limit": 2, "cursor": first["nextCursor"]}, groups="[reviewer]"
    )
    assert len(first["items"]) == 2 and len(second.body["items"]) == 2
    assert not {i["interactionId"] for i in first["items"]} & {i["interactionId"] for i in second.body["items"]}


def test_a_changed_verdict_needs_a_new_review(api):
    interaction_id = correction(api, "ana")
    assert review(api, "rui", approve=[interaction_id]).body["approved"] == [interaction_id]
    changed = api(
        "POST",
        f"/api/interactions/{interaction_id}/feedback",
        body={"useful": False, "agentReply": "Actually: it ships on Monday."},
        username="ana",
    )
    assert changed.status == 200, changed.body
    assert listed(api, "pending") == [interaction_id]  # the new revision waits again


def judged(interaction_id: str, agent: float, original: float = 4.0) -> None:
    """What the correct worker stores: the judge's scores (the correction itself not kept here)."""
    store = wiring.get_learning_store()
    record = store.get_record(interaction_id)
    assert record is not None

    def score(overall: float) -> Score:
        return Score(int(overall), int(overall), int(overall), int(overall), "")

    improvement = Improvement(
        interaction_id=interaction_id,
        revision=1,
        original_reply=record.interaction.ai_reply,
        corrected_reply="A near copy.",
        rationale="",
        original_score=score(original),
        corrected_score=score(original),
        agent_score=score(agent),
        score_gain_estimate=0.0,
        failure_category="too generic",
        prompt_id="external",
        model="test",
        created_at=datetime.now(UTC),
        rejected_reason="near-copy of the agent's reply",
        message=record.interaction.message,
    )
    assert store.save_improvement(record.interaction, improvement)


def test_the_export_reads_the_policy_decision_of_each_row(api):
    """What `services.training_source.failed_reply` decides from the stored record: judge, then a reviewer."""
    approved = correction(api, "ana")
    pending = correction(api, "ben", message="Where is order 456?")
    worse = correction(api, "cai", message="Where is order 789?")
    unjudged = correction(api, "dee", message="Where is order 999?")
    review(api, "rui", approve=[approved, worse])
    for interaction_id in (approved, pending):
        judged(interaction_id, agent=8.0)
    judged(worse, agent=3.0)
    store = wiring.get_store()

    def reasons(policy: str) -> dict[str, str | None]:
        found = {}
        for interaction_id in (approved, pending, worse, unjudged):
            record = store.get_record(interaction_id)
            assert record is not None
            found[interaction_id] = failed_reply(record, policy).excluded_reason  # type: ignore[arg-type]
        return found

    assert reasons("reviewed") == {
        approved: None,
        pending: "awaiting review",
        worse: "judge disagreed",
        unjudged: "awaiting judge",
    }
    assert reasons("judged") == {approved: None, pending: None, worse: "judge disagreed", unjudged: "awaiting judge"}

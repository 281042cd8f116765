"""Sign in, open every page, check what the console shows against the API's own answers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from replyloop.domain.auth import Role
from tests.browser.conftest import Stack
from tests.conftest import ROOT
from tests.e2e.test_local_stack import request, run_cli

pytestmark = pytest.mark.browser  # runs last (see tests/conftest.py)
WORKER_WAIT_MS = 90_000
PAGES = {
    "overview": "Overview",
    "trends": "Trends",
    "replay": "Replay",
    "leaderboard": "Leaderboard",
    "review": "Review queue",
    "training": "Training review",
    "versions": "Versions",
    "prompts": "Prompts",
    "retrain": "Retrain runs",
    "stress": "Stress tests",
}
# What the retrain test adds to the seed (another random seed: other messages), for more held-out cases.
MORE_HISTORY = ("--count", "120", "--days", "20", "--drafts", "0", "--seed", "8")
STRESS_ARGS = ("--candidate", "v2", "--simulate", "8", "--json")
ADMIN_ONLY = {"versions", "prompts", "retrain", "stress"}
REVIEWER_ONLY = {"training"}


@pytest.fixture(autouse=True)
def no_script_errors(page: Page) -> Iterator[list[str]]:
    """Any uncaught exception in the console's JavaScript fails the test."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors
    assert errors == []


def sign_in(page: Page, stack: Stack, role: Role) -> None:
    page.goto(f"{stack.url}/")
    page.evaluate("sessionStorage.clear()")  # whoever was signed in before
    page.reload()
    page.get_by_role("button", name=f"Sign in as {role.value}").click()
    expect(page.get_by_test_id("who")).to_contain_text(role.value)


def open_page(page: Page, stack: Stack, path: str) -> None:
    target = f"{stack.url}/#/{path}"
    if page.url == target:
        page.reload()  # same address: a hash change would not fire, so the page would not fetch again
    else:
        page.goto(target)
    if path in PAGES:
        expect(page.get_by_role("heading", level=1)).to_have_text(PAGES[path])
    expect(page.locator(".loading")).to_have_count(0)


AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"


def axe_check(page: Page) -> tuple[list[str], set[str]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now, and the rules it checked."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})")
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    return problems, {rule["id"] for rule in result["passes"]}


def settled(stack: Stack, path: str, role: Role = Role.ADMIN) -> Any:
    """The API's answer once the learning workers have caught up with earlier tests' verdicts."""
    stack.drain()
    return stack.api(path, role=role)


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def test_the_console_is_served_next_to_the_api_and_needs_a_sign_in(page: Page, stack: Stack, shots: Any) -> None:
    page.goto(f"{stack.url}/")
    expect(page.get_by_role("heading", name="replyloop")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in as agent")).to_be_visible()
    shots(page, "sign-in")
    status, _ = request(f"{stack.url}/api/feedback/analytics")
    assert status == 401  # the page is public; the data is not


def test_an_admin_opens_every_page_and_each_shows_its_data(page: Page, stack: Stack, shots: Any) -> None:
    sign_in(page, stack, Role.ADMIN)
    nav = page.get_by_role("navigation", name="Pages")
    for path, title in PAGES.items():
        nav.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator(".loading")).to_have_count(0)
        expect(page.get_by_role("alert")).to_have_count(0)
        if path in ("overview", "trends", "versions"):
            expect(page.locator("canvas").first).to_be_visible()
        shots(page, path)


def test_overview_figures_match_the_analytics_api(page: Page, stack: Stack) -> None:
    today = datetime.now(UTC).date()
    expected = stack.api(f"/feedback/analytics?from={today - timedelta(days=29)}&to={today}&top=5")
    assert expected["total"] > 0
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, "overview")
    expect(page.get_by_test_id("stat-total")).to_contain_text(str(expected["total"]))
    expect(page.get_by_test_id("stat-useful-rate")).to_contain_text(pct(expected["usefulRate"]))
    expect(page.get_by_test_id("stat-not-useful")).to_contain_text(str(expected["notUsefulCount"]))
    expect(page.get_by_test_id("stat-override-rate")).to_contain_text(pct(expected["overrideRate"]))

    versions = stack.api("/versions")["items"]
    tag = versions[0]["versionTag"]
    per_version = stack.api(f"/feedback/analytics?from={today - timedelta(days=29)}&to={today}&version={tag}")
    sign_in(page, stack, Role.ADMIN)
    open_page(page, stack, "overview")
    page.get_by_label("Version").select_option(tag)
    expect(page.get_by_test_id("stat-total")).to_contain_text(str(per_version["total"]))


def test_trends_list_the_failure_categories_the_api_reports(page: Page, stack: Stack) -> None:
    categories = settled(stack, "/feedback/analytics?days=30&top=1")["failureCategories"][:5]
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, "trends")
    rows = page.get_by_test_id("categories").locator("tbody tr")
    expect(rows).to_have_count(len(categories))
    for row, category in zip(rows.all(), categories, strict=True):
        expect(row).to_contain_text(category["category"])
        expect(row).to_contain_text(str(category["count"]))


def test_replay_pages_through_verdicts_and_filters_them(page: Page, stack: Stack) -> None:
    first = stack.api("/feedback/replay?limit=20")
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, "replay")
    rows = page.get_by_test_id("replay-table").locator("tbody tr")
    expect(rows).to_have_count(len(first["items"]))
    expect(rows.first).to_contain_text(first["items"][0]["message"][:40])
    if first["nextCursor"]:
        second = stack.api(f"/feedback/replay?limit=20&cursor={first['nextCursor']}")
        page.get_by_role("button", name="Next").click()
        expect(rows.first).to_contain_text(second["items"][0]["message"][:40])
        page.get_by_role("button", name="Previous").click()
        expect(rows.first).to_contain_text(first["items"][0]["message"][:40])

    not_useful = stack.api("/feedback/replay?limit=20&verdict=no")["items"]
    page.get_by_label("Verdict").select_option("no")
    expect(rows).to_have_count(len(not_useful))
    expect(page.get_by_test_id("replay-table").get_by_text("useful", exact=True)).to_have_count(0)


def record_failure(stack: Stack, message: str, role: Role = Role.AGENT) -> str:
    created = stack.api(
        "/feedback-replay",
        "POST",
        {
            "message": message,
            "aiReply": "Please wait.",
            "agentReply": "Sorry for the wait! I've refunded the duplicate charge today; it shows in 3-5 days.",
            "feedback": "no",
        },
        role=role,
    )
    return str(created["interactionId"])


def test_generate_improved_reply_shows_progress_then_the_result(page: Page, stack: Stack, shots: Any) -> None:
    interaction = record_failure(stack, "I was charged twice this month. Can you refund the duplicate?")
    # The "no" verdict already queued its explain and correct jobs. Let them finish first: the button's
    # job is then answered from the idempotency record at once. A duplicate sent while the first is still
    # in progress would be retried only after the queue's visibility timeout (six minutes).
    stack.drain()
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, f"replay/{interaction}")
    expect(page.get_by_test_id("col-customer")).to_contain_text("I was charged twice this month.")
    expect(page.get_by_test_id("col-agent")).to_contain_text("I've refunded the duplicate charge today")

    page.get_by_role("button", name="Generate Improved Reply").click()
    status = page.get_by_test_id("job-status")
    expect(status).to_contain_text("Improved reply:")
    expect(status).to_contain_text("Done.", timeout=WORKER_WAIT_MS)
    view = stack.api(f"/interactions/{interaction}")
    assert view["correctedReply"]
    expect(page.get_by_test_id("col-improved")).to_contain_text(view["correctedReply"])
    shown_gain = page.get_by_test_id("score-gain").locator("strong").inner_text()
    assert float(shown_gain) == pytest.approx(view["scoreGainEstimate"], abs=0.005)  # shown to 2 places
    expect(page.get_by_test_id("judge-scores")).to_contain_text("Improved")

    page.get_by_role("button", name="Explain Reply").click()
    expect(status).to_contain_text("Explanation: Done.", timeout=WORKER_WAIT_MS)
    why = stack.api(f"/interactions/{interaction}")["whyThisReply"]
    expect(page.get_by_test_id("why-this-reply")).to_contain_text(why["tone"])
    shots(page, "replay-interaction")


def test_customer_text_is_shown_as_text_never_run_as_html(page: Page, stack: Stack) -> None:
    attack = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> where is my order?'
    interaction = record_failure(stack, attack)
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, f"replay/{interaction}")
    expect(page.get_by_test_id("col-customer")).to_contain_text("<script>window.__xss = 1</script>")
    open_page(page, stack, "overview")  # the list of latest not-useful replies shows it too
    expect(page.get_by_text("<script>window.__xss", exact=False).first).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img").count() == 0


def test_an_agent_resolves_a_snoozed_draft_from_the_review_queue(page: Page, stack: Stack) -> None:
    queue = stack.api("/review-queue", role=Role.AGENT)["items"]
    assert queue, "the seed drafts live replies; some land on the review queue"
    first = queue[0]
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, "review")
    items = page.get_by_test_id("review-queue").locator("li")
    expect(items).to_have_count(len(queue))
    item = page.locator(f"li[data-id='{first['interactionId']}']")
    item.get_by_label("No").check()
    reply = "Thanks! Your parcel is with your neighbour at no. 12; I've asked them to drop it off."
    item.get_by_label("Your reply (optional)").fill(reply)
    item.get_by_role("button", name="Resolve").click()
    expect(page.locator(f"li[data-id='{first['interactionId']}']")).to_have_count(0)
    view = stack.api(f"/interactions/{first['interactionId']}")
    assert view["feedback"]["useful"] is False
    assert view["agentReply"].startswith("Thanks! Your parcel is with your neighbour")


def test_leaderboard_shows_the_most_improved_replies_in_order(page: Page, stack: Stack) -> None:
    expected = settled(stack, "/improvements/leaderboard?limit=50", role=Role.AGENT)["items"]
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, "leaderboard")
    assert expected, "the seeded not-useful verdicts were improved by the workers"
    entries = page.get_by_test_id("leaderboard").locator("> li")
    expect(entries).to_have_count(len(expected))
    top_gain = entries.first.locator(".gain").inner_text()
    assert top_gain.startswith("+")
    assert float(top_gain) == pytest.approx(expected[0]["scoreGainEstimate"], abs=0.05)  # shown to 1 place
    page.get_by_label("Category").select_option(label=expected[0]["failureCategory"])
    category = urllib.parse.quote(expected[0]["failureCategory"])
    filtered = stack.api(f"/improvements/leaderboard?limit=50&category={category}")["items"]
    expect(entries).to_have_count(len(filtered))


def test_prompts_show_a_word_level_diff_with_the_notes(page: Page, stack: Stack) -> None:
    versions = stack.api("/prompts/reply/versions")["items"]
    diff = stack.api(f"/prompts/reply/diff?from={versions[-2]['version']}&to={versions[-1]['version']}")
    sign_in(page, stack, Role.ADMIN)
    open_page(page, stack, "prompts")
    expect(page.get_by_test_id("prompt-versions").locator("tbody tr")).to_have_count(len(versions))
    words = page.get_by_test_id("word-diff")
    inserted = [
        part["after"].strip() for part in diff["words"] if part["op"] in ("insert", "replace") and part["after"]
    ]
    expect(words.locator("ins")).to_have_count(len(inserted))
    expect(words.locator("ins").first).to_contain_text(inserted[0][:20])
    expect(page.get_by_test_id("to-notes")).to_have_text(diff["to"]["improvementNotes"])


def test_an_agent_sees_no_admin_pages_and_the_api_refuses_them(page: Page, stack: Stack) -> None:
    sign_in(page, stack, Role.AGENT)
    nav = page.get_by_role("navigation", name="Pages")
    for path in ADMIN_ONLY | REVIEWER_ONLY:
        expect(nav.get_by_role("link", name=PAGES[path], exact=True)).to_have_count(0)
    page.goto(f"{stack.url}/#/versions")
    expect(page.get_by_role("alert")).to_contain_text("needs the admin role")
    expect(page.get_by_role("button", name=re.compile("Roll back|Activate"))).to_have_count(0)
    # Hidden is a courtesy; the API is the guard.
    status, body = request(f"{stack.url}/api/versions/v1/activate", "POST", {}, stack.token(Role.AGENT))
    assert status == 403, body
    assert stack.api("/versions")["active"] != "v1"


def test_an_admin_rolls_back_a_version_after_confirming(page: Page, stack: Stack, shots: Any) -> None:
    before = stack.api("/versions")
    target = next(v["versionTag"] for v in before["items"] if v["status"] != "active")
    sign_in(page, stack, Role.ADMIN)
    open_page(page, stack, "versions")
    expect(page.get_by_test_id("compare").locator("tbody tr").first).to_be_visible()
    row = page.locator(f"tr[data-version='{target}']")
    row.get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Make {target} the active version?")
    dialog.get_by_role("button", name="Cancel").click()
    assert stack.api("/versions")["active"] == before["active"]

    row.get_by_role("button").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text(f"{target} is now the active version.")
    expect(row).to_contain_text("active")
    assert stack.api("/versions")["active"] == target
    stack.api(f"/versions/{before['active']}/activate", "POST", {})  # leave the stack as it was


def test_errors_and_empty_states_are_said_in_words(page: Page, stack: Stack) -> None:
    sign_in(page, stack, Role.ADMIN)
    page.goto(f"{stack.url}/#/replay/0123456789abcdef0123456789abcdef")
    expect(page.get_by_role("alert")).to_contain_text("No interaction with id")
    page.goto(f"{stack.url}/#/nowhere")
    expect(page.get_by_role("alert")).to_contain_text("There is no page called 'nowhere'")
    open_page(page, stack, "leaderboard")
    page.get_by_label("From", exact=True).fill("2001-01-01")
    page.get_by_label("To", exact=True).fill("2001-01-02")
    expect(page.get_by_text("No improved replies")).to_be_visible()


def test_a_stress_test_and_a_retrain_run_show_their_outcome(page: Page, stack: Stack, shots: Any) -> None:
    sign_in(page, stack, Role.ADMIN)
    if not stack.api("/stress-tests")["items"]:
        open_page(page, stack, "stress")
        expect(page.get_by_text("No stress tests yet.")).to_be_visible()
    # A stress test as an operator runs it; exit 3 is its drift guard (the candidate lost too often).
    done = subprocess.run(
        [sys.executable, "-m", "replyloop", "stress-test", "--url", stack.url, *STRESS_ARGS],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 3), done.stderr
    run_id = json.loads(done.stdout)["runId"]
    summary = stack.api(f"/stress-tests/{run_id}")["summary"]
    open_page(page, stack, "stress")
    page.get_by_test_id("stress-tests").get_by_role("link").first.click()
    expect(page.get_by_test_id("stat-wlt")).to_contain_text(
        f"{summary['wins']} / {summary['losses']} / {summary['ties']}"
    )
    expect(page.get_by_test_id("regressions").locator("tbody tr")).to_have_count(len(summary["worstRegressions"]))
    shots(page, "stress-test")

    open_page(page, stack, "retrain")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Start a run now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retrain run")
    status = page.get_by_test_id("run-status")
    expect(status).not_to_contain_text("running", timeout=WORKER_WAIT_MS * 2)
    run_id = page.url.rsplit("/", 1)[1]
    run = stack.api(f"/retrain-runs/{run_id}")
    expect(status).to_contain_text(run["status"].replace("_", " "))
    expect(status).to_contain_text(run["reason"])
    steps = page.get_by_test_id("steps").locator("> li")
    expect(steps).to_have_count(len(run["steps"]))
    expect(page.get_by_test_id("steps")).to_contain_text("Export training data")
    shots(page, "retrain-run")
    open_page(page, stack, "retrain")
    expect(page.get_by_test_id("retrain-runs")).to_contain_text(run["reason"])


def listed(stack: Stack, status: str, interaction_id: str) -> dict[str, Any] | None:
    """The training example as the API lists it under `status` (every page), or None."""
    cursor = ""
    while True:
        page = stack.api(f"/training-examples?status={status}&limit=50{cursor}", role=Role.REVIEWER)
        found = next((item for item in page["items"] if item["interactionId"] == interaction_id), None)
        if found or not page["nextCursor"]:
            return found
        cursor = f"&cursor={urllib.parse.quote(page['nextCursor'])}"


def test_a_reviewer_approves_and_rejects_agents_corrections(page: Page, stack: Stack, shots: Any) -> None:
    pending = stack.api("/training-examples?status=pending&limit=20", role=Role.REVIEWER)["items"]
    assert len(pending) >= 2, "the seed leaves some corrections pending, and earlier tests add agents' corrections"
    sign_in(page, stack, Role.REVIEWER)
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Review queue", exact=True)).to_be_visible()  # a reviewer is an agent
    for path in ADMIN_ONLY:
        expect(nav.get_by_role("link", name=PAGES[path], exact=True)).to_have_count(0)
    nav.get_by_role("link", name="Training review", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Training review")
    cards = page.get_by_test_id("training-examples").locator("> li")
    expect(cards).to_have_count(len(pending))
    for card, item in zip(cards.all(), pending, strict=True):
        assert card.get_attribute("data-id") == item["interactionId"]  # the API's order, newest first
        expect(card).to_contain_text(item["message"][:40])
        expect(card.locator(".author")).to_have_text(item["submittedBy"])
        original = (item["judgeScores"] or {}).get("original")
        if original:
            expect(card.get_by_test_id("scores")).to_contain_text("AI reply")
    shots(page, "training-review")

    approve, reject = pending[0]["interactionId"], pending[1]["interactionId"]
    page.locator(f"li[data-id='{approve}']").get_by_role("checkbox").check()
    page.get_by_label("Note (optional)").fill("matches our refund policy")
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_test_id("review-outcome")).to_contain_text("Approved 1, rejected 0.")
    expect(page.locator(f"li[data-id='{approve}']")).to_have_count(0)
    page.locator(f"li[data-id='{reject}']").get_by_role("checkbox").check()
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_test_id("review-outcome")).to_contain_text("Approved 0, rejected 1.")
    expect(page.locator(f"li[data-id='{reject}']")).to_have_count(0)

    approved = listed(stack, "approved", approve)
    assert approved and approved["review"]["status"] == "approved", approved
    assert approved["review"]["reviewedBy"] == "dev-reviewer"
    assert approved["review"]["note"] == "matches our refund policy"
    rejected = listed(stack, "rejected", reject)
    assert rejected and rejected["review"]["reviewedBy"] == "dev-reviewer", rejected
    assert listed(stack, "pending", approve) is None and listed(stack, "pending", reject) is None

    assert axe_check(page)[0] == []  # with the outcome shown

    page.get_by_role("button", name="Rejected", exact=True).click()
    expect(page.locator(f"li[data-id='{reject}']").get_by_test_id("review")).to_contain_text("rejected by dev-reviewer")
    topic = rejected["topic"]
    if topic:
        expected = stack.api(f"/training-examples?status=rejected&topic={topic}&limit=20", role=Role.REVIEWER)
        page.get_by_label("Topic").fill(topic)
        page.get_by_label("Topic").press("Enter")
        expect(cards).to_have_count(len(expected["items"]))
        expect(page.get_by_test_id("example-meta")).to_contain_text([topic] * len(expected["items"]))


def test_a_reviewer_cannot_review_their_own_correction_and_is_told_why(page: Page, stack: Stack) -> None:
    own = record_failure(stack, "My order arrived damaged, can I get a replacement?", role=Role.REVIEWER)
    sign_in(page, stack, Role.REVIEWER)
    open_page(page, stack, "training")
    page.get_by_role("button", name="Approved", exact=True).click()  # a reviewer's own correction needs no approval
    card = page.locator(f"li[data-id='{own}']")
    expect(card).to_contain_text("Written by a reviewer")
    card.get_by_role("checkbox").check()
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_test_id("review-outcome")).to_contain_text("Approved 0, rejected 0, 1 not reviewed.")
    refused = page.get_by_test_id("refused").locator(f"li[data-id='{own}']")
    expect(refused).to_contain_text("your own correction")
    expect(refused).to_contain_text("My order arrived damaged")
    assert axe_check(page)[0] == []  # the refusal is said accessibly too
    assert stack.api(f"/interactions/{own}")["trainingReview"] is None


def test_an_agent_gets_no_training_review_and_the_api_refuses_it(page: Page, stack: Stack) -> None:
    sign_in(page, stack, Role.AGENT)
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Overview", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Training review", exact=True)).to_have_count(0)
    page.goto(f"{stack.url}/#/training")
    expect(page.get_by_role("alert")).to_have_text(
        "The Training review page needs the reviewer role; you are signed in as an agent."
    )
    expect(page.get_by_role("button", name="Approve selected")).to_have_count(0)
    status, _ = request(f"{stack.url}/api/training-examples", token=stack.token(Role.AGENT))
    assert status == 403
    pending = stack.api("/training-examples?status=pending&limit=1", role=Role.REVIEWER)["items"]
    ids = [item["interactionId"] for item in pending]
    status, _ = request(f"{stack.url}/api/training-examples/review", "POST", {"approve": ids}, stack.token(Role.AGENT))
    assert status == 403


def test_replay_shows_the_verdict_history_source_and_training_review(page: Page, stack: Stack) -> None:
    interaction = record_failure(stack, "The app logs me out every time I switch to another app.")
    stack.api(
        f"/interactions/{interaction}/feedback",
        "POST",
        {"useful": False, "agentReply": "Update to 5.2: it keeps you signed in. Sorry about that!"},
        role=Role.REVIEWER,
    )
    view = stack.api(f"/interactions/{interaction}")
    assert len(view["history"]) == 2, view["history"]
    sign_in(page, stack, Role.AGENT)
    open_page(page, stack, f"replay/{interaction}")
    rows = page.get_by_test_id("verdict-history").locator("tbody tr")
    expect(rows).to_have_count(len(view["history"]))
    for row, entry in zip(rows.all(), view["history"], strict=True):  # oldest first, as the API gives them
        expect(row).to_contain_text(entry["submittedBy"])
        expect(row).to_contain_text((entry["agentReply"] or "none")[:40])
    expect(page.get_by_test_id("source")).to_contain_text(view["source"])
    assert axe_check(page)[0] == []
    review = page.get_by_test_id("training-review")
    if view["trainingReview"]:
        expect(review).to_contain_text(view["trainingReview"]["status"])
    elif view["feedback"]["byReviewer"]:
        expect(review).to_contain_text("Written by a reviewer")
    else:
        expect(review).to_contain_text("waiting for a reviewer")


def shown_number(text: str) -> float:
    return float(text.replace(",", ""))


def expect_evidence(page: Page, evaluation: dict[str, Any] | None) -> None:
    """The run page shows the evaluation's evidence as the API gives it (or none, when there is none)."""
    evidence = page.get_by_test_id("evidence")
    if evaluation is None:
        expect(evidence).to_have_count(0)
        return
    expect(evidence.get_by_test_id("stat-cases")).to_contain_text(str(evaluation["cases"]))
    wlt = f"{evaluation['wins']} / {evaluation['losses']} / {evaluation['ties']}"
    expect(evidence.get_by_test_id("stat-wlt")).to_contain_text(wlt)
    for testid, key in (
        ("stat-candidate-mean", "candidateMean"),
        ("stat-incumbent-mean", "incumbentMean"),
        ("stat-gain", "gain"),
    ):
        if evaluation[key] is not None:
            value = evidence.get_by_test_id(testid).locator(".stat-value").inner_text()
            # shown to 2 places, rounded half up (0.375 shows as 0.38)
            assert shown_number(value) == pytest.approx(evaluation[key], abs=0.0051)
    if evaluation["ci95"]:
        expect(evidence.get_by_test_id("stat-gain")).to_contain_text("95% interval")
    expect(evidence.get_by_role("link")).to_have_count(len(evaluation["worstRegressions"]))


def expect_gepa_search(page: Page, run: dict[str, Any]) -> None:
    """The stack's default trainer is gepa: a run that trained shows its search as the API reports it."""
    assert run["trainer"] == "gepa"
    train = run["steps"].get("train") or {}
    if train.get("outcome") != "succeeded":
        return
    progress = train["progress"]
    search = page.get_by_test_id("gepa-search")
    spent = f"{progress['metricCalls']} / {progress['budget']}"
    expect(search.get_by_test_id("stat-metric-calls")).to_contain_text(spent)
    expect(search.get_by_test_id("gepa-candidates").locator("tbody tr")).to_have_count(progress["candidates"]["count"])
    expect(search.get_by_test_id("gepa-diff")).to_contain_text(f"Chosen prompt v{progress['chosen']['promptVersion']}")


def test_a_retrain_run_shows_its_evidence_and_an_admin_approves_it(page: Page, stack: Stack, shots: Any) -> None:
    # More history (another random seed, so other messages) gives the evaluation more held-out cases.
    run_cli("dev", "seed", "--url", stack.url, *MORE_HISTORY, env=stack.env)
    # A reviewer clears the backlog first, so the agents' corrections count as training examples.
    while pending := stack.api("/training-examples?status=pending&limit=50", role=Role.REVIEWER)["items"]:
        ids = [item["interactionId"] for item in pending]
        stack.api("/training-examples/review", "POST", {"approve": ids, "note": "backlog"}, role=Role.REVIEWER)
    stack.drain()  # and the judge has scored every correction
    active = stack.api("/versions")["active"]
    stack.api("/versions/v1/activate", "POST", {})  # the oldest version is the incumbent to beat
    # Any gain whose 95% interval is above zero passes the gate, so the seeded data has a chance to reach approval.
    options = {"minNotUseful": 0, "minEvalCases": 1, "promotion": "approve", "margin": 0}
    run_id = stack.api("/retrain-runs", "POST", options)["runId"]
    sign_in(page, stack, Role.ADMIN)
    open_page(page, stack, f"retrain/{run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Retrain run")
    status = page.get_by_test_id("run-status")
    expect(status).to_be_visible()
    expect(status).not_to_contain_text("refreshes by itself", timeout=WORKER_WAIT_MS * 2)  # the page follows the run
    run = stack.api(f"/retrain-runs/{run_id}")
    assert run["status"] != "running", run
    expect(status).to_contain_text(run["status"].replace("_", " "))

    evaluation = run["evaluation"]
    expect_evidence(page, evaluation)
    if evaluation:
        shots(page, "retrain-evidence")
    expect_gepa_search(page, run)

    assert axe_check(page)[0] == []
    if run["status"] == "awaiting_approval":
        approval = page.get_by_test_id("approval")
        approval.get_by_role("button", name=re.compile("^Approve")).click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Approve and promote")
        dialog.get_by_role("button", name="Cancel").click()
        assert stack.api(f"/retrain-runs/{run_id}")["status"] == "awaiting_approval"

        approval.get_by_role("button", name=re.compile("^Approve")).click()
        dialog.get_by_label("Note (optional, kept with the run)").fill("evidence looks good")
        dialog.get_by_role("button", name="Confirm").click()
        expect(status).not_to_contain_text("awaiting approval", timeout=WORKER_WAIT_MS)
        run = stack.api(f"/retrain-runs/{run_id}")
        assert run["status"] == "promoted", run
        expect(status).to_contain_text(run["reason"])
        assert "evidence looks good" in run["reason"]
        assert stack.api("/versions")["active"] == run["candidateVersion"]
    else:
        expect(page.get_by_test_id("approval")).to_have_count(0)
        if run["reason"]:
            expect(status).to_contain_text(run["reason"])
    stack.api(f"/versions/{active}/activate", "POST", {})  # leave the stack as it was

    if evaluation and evaluation["worstRegressions"]:
        first = evaluation["worstRegressions"][0]
        page.get_by_test_id("worst-regressions").get_by_role("link").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Interaction")
        expect(page.get_by_test_id("col-customer")).to_contain_text(stack.api(f"/interactions/{first}")["message"][:40])


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_fit_a_phone_and_are_keyboard_reachable(page: Page, stack: Stack, path: str, shots: Any) -> None:
    sign_in(page, stack, Role.ADMIN)
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, stack, path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "replyloop"  # the first stop is the brand link, then the pages
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('nav') !== null")
    if path in ("overview", "replay"):
        shots(page, f"{path}-phone")


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_pass_the_wcag_aa_checks_of_axe(page: Page, stack: Stack, path: str) -> None:
    """axe-core (pinned in console/package.json) checks contrast, labels, roles and names."""
    sign_in(page, stack, Role.ADMIN)
    open_page(page, stack, path)
    problems, checked = axe_check(page)
    assert problems == []
    assert "color-contrast" in checked  # axe really measured the page's text


def test_versions_show_each_ones_endpoint_and_its_base_models_announced_shutdown(page: Page, stack: Stack) -> None:
    versions = stack.api("/versions")["items"]
    sign_in(page, stack, Role.ADMIN)
    open_page(page, stack, "versions")
    for version in versions:
        row = page.locator(f"tr[data-version='{version['versionTag']}']")
        expect(row).to_contain_text(version["endpoint"])
        shown = version["baseModelShutdown"] or "none announced"
        expect(row.get_by_test_id("shutdown")).to_have_text(shown)
    assert any(v["baseModelShutdown"] for v in versions)  # the seeded gpt-4o-mini versions: 2027-01-14

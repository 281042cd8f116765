"""Structured outputs for learning: explain, why-this-reply, correct and judge answers.

`response_format` with a JSON schema is answered by the handler registered under the schema's name
(the product's pydantic model names); an unknown schema is a 400, never made-up JSON. The answers
are heuristics over the tagged texts in the conversation (`<ai_reply>`, `<agent_reply>`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from replyloop.local.offline_model.drafting import GENERIC_REPLY, cosine, message_text, words

StructuredHandler = Callable[[list[dict[str, Any]], dict[str, Any]], dict[str, Any]]
STRUCTURED_HANDLERS: dict[str, StructuredHandler] = {}

GENERIC_MARKERS = (
    "faq",
    "policy",
    "please wait",
    "try resetting",
    "turning it off",
    "from time to time",
    "usually takes",
    "check our",
)
POLITE = ("sorry", "thank", "apolog", "happy to", "glad", "please")
REWORDINGS = (
    ("So sorry", "I'm sorry"),
    ("Sorry", "Apologies"),
    ("Thanks", "Thank you"),
    ("Hi ", "Hello "),
    ("I've", "I have"),
    ("it's", "it is"),
    ("can't", "cannot"),
    ("you'll", "you will"),
    ("We got", "We received"),
    ("just", "now"),
    ("I found", "I located"),
    ("pushed", "processed"),
)


def tag(name: str, text: str) -> str:
    found = re.search(rf"<{name}>\s*(.*?)\s*</{name}>", text, re.DOTALL)
    return found.group(1).strip() if found else ""


def _conversation(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message_text(m) for m in messages if m.get("role") == "user")


def _is_generic(reply: str) -> bool:
    lowered = reply.lower()
    return reply.strip() == GENERIC_REPLY or any(marker in lowered for marker in GENERIC_MARKERS)


def infer_failure_category(ai_reply: str, agent_reply: str) -> str:
    if _is_generic(ai_reply):
        return "too generic"
    if not agent_reply or cosine(words(ai_reply), words(agent_reply)) < 0.15:
        return "did not resolve the issue"
    if len(ai_reply.split()) < 0.5 * len(agent_reply.split()):
        return "incomplete answer"
    return "wrong tone"


def _explain(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    from replyloop.domain.topics import detect_topic

    text = _conversation(messages)
    ai, agent, customer = tag("ai_reply", text), tag("agent_reply", text), tag("customer_message", text)
    category = infer_failure_category(ai, agent)
    reasons = {
        "too generic": "The AI reply points to general information instead of dealing with this customer's case.",
        "did not resolve the issue": "The AI reply does not address what the customer actually needs done.",
        "incomplete answer": "The AI reply covers the problem only partly and leaves out the concrete next step.",
        "wrong tone": "The AI reply has the right facts but not the warmth and ownership the agent showed.",
    }
    detail = " The agent instead took action and said what happens next." if agent else ""
    return {
        "explanation": reasons[category] + detail,
        "failure_category": category,
        "topic": detect_topic(customer),
    }


def _why(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    ai = tag("ai_reply", _conversation(messages))
    polite = any(word in ai.lower() for word in POLITE)
    return {
        "tone": "Polite and apologetic, following the prompt's instruction to be warm."
        if polite
        else "Neutral and brief; the prompt asks for concision and nothing in the message called for an apology.",
        "content": "It reuses the closest example reply in its prompt."
        if not _is_generic(ai)
        else "No example in its prompt matched this message, so it fell back to a general holding reply.",
        "helpfulness": "It names a concrete action and what happens next."
        if re.search(r"\d|today|tomorrow|refund", ai.lower())
        else "It does not commit to a concrete next step, so the customer will likely write again.",
    }


def _correct(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    text = _conversation(messages)
    agent, ai = tag("agent_reply", text), tag("ai_reply", text)
    if not agent:
        return {
            "reply": f"{ai} I will follow up with the exact next step and when it happens.",
            "rationale": "Added a concrete commitment; no agent reply was available to learn from.",
        }
    reply = agent
    for old, new in REWORDINGS:
        reply = reply.replace(old, new)
    return {
        "reply": f"Thank you for your patience. {reply}",
        "rationale": "Took the agent's facts and actions, reworded, and opened by acknowledging the wait.",
    }


def _judge(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    text = _conversation(messages)
    candidate, reference = tag("candidate_reply", text), tag("reference_reply", text)
    closeness = cosine(words(candidate), words(reference)) if reference else 0.5
    accuracy = 1 + round(9 * closeness)
    length_ratio = min(1.0, len(candidate.split()) / max(1, len(reference.split()))) if reference else 0.6
    completeness = 1 + round(9 * closeness * length_ratio)
    tone = 4 + 3 * any(word in candidate.lower() for word in POLITE) + (0 if _is_generic(candidate) else 2)
    helpfulness = 2 if _is_generic(candidate) else 1 + round(9 * (closeness + length_ratio) / 2)
    return {
        "accuracy": accuracy,
        "completeness": completeness,
        "tone": min(10, tone),
        "helpfulness": min(10, helpfulness),
        "comments": f"Offline judge: {round(100 * closeness)}% overlap with the reference reply"
        if reference
        else "Offline judge: no reference reply, scored on form only.",
    }


STRUCTURED_HANDLERS.update(
    {"FailureExplanation": _explain, "WhyThisReply": _why, "CorrectedReply": _correct, "JudgeScores": _judge}
)

"""A realistic demo data set, loaded through the public API like any frontend would.

Hundreds of interactions over the last 30 days, drafted by three assistant versions that get
better over time; mixed verdicts, most "no" verdicts with the agent's own reply; customer
messages that carry personal data (names, emails, phones, card numbers, IBANs, addresses) so
redaction has something to find.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST = [
    "Maria",
    "James",
    "Aisha",
    "Chen",
    "Lukas",
    "Sofia",
    "Omar",
    "Emma",
    "Ravi",
    "Olivia",
    "Mateo",
    "Yuki",
]
LAST = [
    "Garcia",
    "Smith",
    "Khan",
    "Wei",
    "Muller",
    "Rossi",
    "Haddad",
    "Jones",
    "Patel",
    "Brown",
    "Silva",
    "Sato",
]
STREETS = ["12 Baker Street", "455 Market St", "8 Rue de Rivoli", "77 Elm Avenue", "1020 Pine Road"]
CITIES = [
    "London NW1 6XE",
    "San Francisco, CA 94105",
    "Paris 75001",
    "Springfield, IL 62701",
    "Austin, TX 78701",
]

PLANS = ["Basic", "Plus", "Family", "Pro", "Team"]
PRODUCTS = ["blender", "standing desk", "coffee grinder", "air fryer", "desk lamp", "office chair", "kettle"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
DEVICES = ["Android phone", "iPhone", "iPad", "Chromebook", "Windows laptop", "Mac"]
FEATURES = ["camera scanner", "order history", "chat window", "settings page", "barcode reader"]


@dataclass(frozen=True)
class Scenario:
    topic: str
    message: str
    good_reply: str
    poor_reply: str
    agent_reply: str


SCENARIOS = [
    Scenario(
        "billing",
        "Hi, I'm {name} and I was charged {amount} twice for my {plan} subscription this month on card {card}. "
        "Can you refund the duplicate? You can reach me at {email} or {phone}.",
        "I'm sorry about the double charge, {first}. I can see two charges this month; I've refunded the "
        "duplicate and you'll see it on your card within 5-7 business days.",
        "Thank you for contacting us. Please check our billing FAQ for information about charges.",
        "So sorry for the trouble, {first}! I found the duplicate charge and refunded it today - it should "
        "show on your card in 5-7 business days. I've also added a note so it can't happen again.",
    ),
    Scenario(
        "shipping",
        "Order #{order} (a {product}) still hasn't arrived. It was supposed to be delivered to {address} last "
        "{weekday}. This is {name}, phone {phone}.",
        "Sorry for the delay, {first}. Order #{order} is held at the local depot; it will be redelivered "
        "tomorrow, and I've upgraded it to express at no cost.",
        "Shipping usually takes 3-5 business days. Please wait a few more days.",
        "Hi {first}, I'm sorry your order is late. I checked #{order}: it's stuck at the depot. I've asked "
        "them to redeliver tomorrow and upgraded you to express for free.",
    ),
    Scenario(
        "refunds",
        "I returned the {product} {weeks} weeks ago and still no refund of {amount}. My IBAN is {iban}. Email: {email}",
        "Thanks for your patience. Your return was received on the 3rd; the refund was issued today and "
        "reaches your bank in 3-5 business days.",
        "Refunds are processed according to our refund policy.",
        "Thanks for waiting, {first}. We got the blender back on the 3rd - I've just pushed the refund "
        "through, so expect it in your account within 3-5 business days.",
    ),
    Scenario(
        "account",
        "I can't log in on my {device} anymore since {weekday}, the reset email never comes. My account email is "
        "{email}. I'm {name}.",
        "I've sent a new reset link to your email; check the spam folder too. It's valid for 30 minutes.",
        "Please try resetting your password.",
        "Hi {first} - I've sent a fresh reset link (check spam too), valid for 30 minutes. "
        "If it still doesn't arrive, reply here and I'll reset it for you directly.",
    ),
    Scenario(
        "technical",
        "The app crashes every time I open the {feature} on my {device}. Very frustrating! -- {name}",
        "Sorry about the crash. Version 4.2.1, out today, fixes the camera scanner; please update from the "
        "app store and it should work again.",
        "Have you tried turning it off and on again?",
        "Sorry about that, {first}! It's a known bug in 4.2.0 - version 4.2.1 fixes it and is out today. "
        "Update from the app store and the scanner will work again.",
    ),
    Scenario(
        "billing",
        "Why did my {plan} plan go up to {amount} a month? Nobody told me. Account holder {name}, {email}.",
        "Prices changed on the 1st; we emailed all customers in advance. You can keep the old price for 3 "
        "months, which I've applied to your account.",
        "Our prices may change from time to time.",
        "Hi {first}, you're right to ask. Prices changed on the 1st; the notice went out last month but may "
        "have been missed. I've locked in your old price for 3 more months.",
    ),
]

# Versions improve over the window: (tag, used from this share of the window ago, chance of a good reply).
VERSIONS = [("v1", 0.66, 0.45), ("v2", 0.27, 0.6), ("v3", 0.0, 0.75)]


def version_for(days_ago: int, span: int) -> tuple[str, float]:
    position = days_ago / span
    return next((tag, chance) for tag, since, chance in VERSIONS if position >= since)


OFF_SCRIPT = [
    "Do you have a physical store in Lisbon where I could pick things up?",
    "Can I change the colour of the sofa I ordered yesterday?",
    "Is your company hiring support staff at the moment?",
    "My neighbour received my parcel by mistake, what now?",
]
PROMPT_NOTES = {
    "v2": "Added exemplars from agents' corrections for billing, shipping and refunds: apologise, act, give a date.",
    "v3": "Exemplars for every topic; replies name the concrete next step and when it happens.",
    "v4": "Candidate: exemplars for every topic under a shorter instruction; not yet serving.",
}
PROMPT_TEXT = (
    "You are a customer support assistant. Apologise once when something went wrong, "
    "fix what you can right away, and say exactly what happens next and when. Be warm and "
    "brief. Never invent policies, prices or order details you were not given."
)
CANDIDATE_PROMPT_TEXT = (
    "You are a customer support assistant. Fix what you can now, say what happens next and when, "
    "in a few warm sentences. Never invent policies, prices or order details."
)


def _exemplars(count: int, rng: random.Random) -> list[dict[str, str]]:
    examples = []
    for scenario in SCENARIOS[:count]:
        person = _person(rng)
        examples.append({"message": scenario.message.format(**person), "reply": scenario.agent_reply.format(**person)})
    return examples


def version_setup(seed: int = 7) -> list[dict[str, Any]]:
    """Prompt versions and assistant versions v2 and v3 (v1 is the default), v3 left active."""
    rng = random.Random(seed)
    steps: list[dict[str, Any]] = []
    for tag, exemplar_count in (("v2", 3), ("v3", len(SCENARIOS))):
        steps.append(
            {
                "tag": tag,
                "prompt": {
                    "text": PROMPT_TEXT,
                    "improvementNotes": PROMPT_NOTES[tag],
                    "exemplars": _exemplars(exemplar_count, rng),
                },
                "description": PROMPT_NOTES[tag],
            }
        )
    return steps


def candidate_setup(seed: int = 7) -> list[dict[str, Any]]:
    """Assistant version v4, registered and left a candidate (`"activate": False`) for `replyloop stress-test`."""
    rng = random.Random(seed + 2)
    exemplars = _exemplars(len(SCENARIOS), rng)
    rng.shuffle(exemplars)
    prompt = {"text": CANDIDATE_PROMPT_TEXT, "improvementNotes": PROMPT_NOTES["v4"], "exemplars": exemplars}
    return [{"tag": "v4", "prompt": prompt, "description": PROMPT_NOTES["v4"], "activate": False}]


def live_messages(count: int, seed: int = 7) -> list[str]:
    """Customer messages to draft live with the active version; a few are unlike any exemplar."""
    rng = random.Random(seed + 1)
    messages = []
    for index in range(count):
        if index % 4 == 3:
            messages.append(rng.choice(OFF_SCRIPT))
        else:
            messages.append(rng.choice(SCENARIOS).message.format(**_person(rng)))
    return messages


def _person(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "first": first,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.com",
        "phone": f"+1 415-555-{rng.randint(100, 199):04d}",
        "card": rng.choice(["4111 1111 1111 1111", "5555 5555 5555 4444", "3782 822463 10005"]),
        "iban": rng.choice(["DE89 3704 0044 0532 0130 00", "GB29 NWBK 6016 1331 9268 19"]),
        "address": f"{rng.choice(STREETS)}, {rng.choice(CITIES)}",
        "order": str(rng.randint(100000, 999999)),
        # Details that survive redaction, so messages stay as varied as real traffic once names are gone.
        "amount": f"${rng.randint(5, 120)}.{rng.choice(['00', '49', '99'])}",
        "plan": rng.choice(PLANS),
        "product": rng.choice(PRODUCTS),
        "weekday": rng.choice(WEEKDAYS),
        "weeks": str(rng.randint(2, 5)),
        "device": rng.choice(DEVICES),
        "feature": rng.choice(FEATURES),
    }


def generate(count: int = 360, days: int = 30, seed: int = 7, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield requests: `{"path": ..., "body": ...}` for `/api/feedback-replay` or `/api/interactions`."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    span = max(1, days)
    for index in range(count):
        days_ago = span - 1 - (span - 1) * index // max(1, count - 1)  # oldest first
        tag, good_chance = version_for(days_ago, span)
        created = (now - timedelta(days=days_ago)).replace(
            hour=rng.randint(0, 23), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0
        )
        created = min(created, now - timedelta(seconds=1))
        scenario, person = rng.choice(SCENARIOS), _person(rng)
        good = rng.random() < good_chance
        body: dict[str, Any] = {
            "message": scenario.message.format(**person),
            "aiReply": (scenario.good_reply if good else scenario.poor_reply).format(**person),
            "assistantVersion": tag,
            "topic": scenario.topic,
            "conversationId": f"conv-{index:05d}",
            "confidence": round(rng.uniform(0.55, 0.95) if good else rng.uniform(0.1, 0.6), 3),
            "createdAt": created.isoformat(),
        }
        if rng.random() < 0.15:  # not every draft gets a verdict
            yield {"path": "/api/interactions", "body": body}
            continue
        useful = good if rng.random() < 0.9 else not good
        body["feedback"] = "yes" if useful else "no"
        if not useful and rng.random() < 0.85:
            body["agentReply"] = scenario.agent_reply.format(**person)
        yield {"path": "/api/feedback-replay", "body": body}

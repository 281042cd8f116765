from __future__ import annotations

import random
import re

import pytest

from replyloop.adapters.redaction import KINDS, PLACEHOLDERS, Redaction, redact
from replyloop.local import seed


@pytest.mark.parametrize(
    ("text", "expected", "removed"),
    [
        (
            "Hi, I'm Maria Lopez and I was charged twice on card 4111 1111 1111 1111.",
            "Hi, I'm [NAME] and I was charged twice on card [CARD].",
            {"card": 1, "name": 1},
        ),
        ("This is Tom Becker, phone +1 415-555-0132.", "This is [NAME], phone [PHONE].", {"phone": 1, "name": 1}),
        (
            "My IBAN is DE89 3704 0044 0532 0130 00. Email: maria.lopez42@example.com",
            "My IBAN is [IBAN]. Email: [EMAIL]",
            {"email": 1, "iban": 1},
        ),
        ("GB29 NWBK 6016 1331 9268 19", "[IBAN]", {"iban": 1}),
        ("Refund to DE89370400440532013000 please", "Refund to [IBAN] please", {"iban": 1}),
        ("3782 822463 10005", "[CARD]", {"card": 1}),
        ("card 5555-5555-5555-4444, exp 12/27", "card [CARD], exp 12/27", {"card": 1}),
        ("ship it to 455 Market St, San Francisco", "ship it to [ADDRESS]", {"address": 1}),
        ("8 Rue de Rivoli, Paris", "[ADDRESS]", {"address": 1}),
        ("Deliver to 12 Baker Street, London NW1 6XE today.", "Deliver to [ADDRESS] today.", {"address": 1}),
        ("-- Jane Doe", "-- [NAME]", {"name": 1}),
        (
            "Account holder Ana Silva, ana.silva7@example.com.",
            "Account holder [NAME], [EMAIL].",
            {"email": 1, "name": 1},
        ),
        ("My name is Chen. Regards,\nYuki Sato", "My name is [NAME]. Regards,\n[NAME]", {"name": 2}),
        ("Hi Olivia, we refunded it.", "Hi [NAME], we refunded it.", {"name": 1}),
        ("Call 415-555-0132 or +44 20 7946 0958.", "Call [PHONE] or [PHONE].", {"phone": 2}),
    ],
)
def test_each_kind_is_replaced_by_its_placeholder_and_counted(text, expected, removed):
    result = redact(text)

    assert result == Redaction(text=expected, removed=removed)


@pytest.mark.parametrize(
    "text",
    [
        "1234 5678 9012 3456",  # 16 digits, fails Luhn
        "DE00 3704 0044 0532 0130 00",  # IBAN checksum wrong
        "I'm sorry to hear that",
        "I'm Sorry to hear that",
        "Please check our billing FAQ.",
        "Where is order 123456?",
        "Maria called yesterday about order #482913.",
        "This is Very Frustrating, version 4.2.1 crashes since 2024-01-15.",
        "Dear Customer, prices changed on the 1st.",
        "Refunds take 5-7 business days; we have 3 stores.",
    ],
)
def test_text_without_personal_data_is_unchanged(text):
    result = redact(text)

    assert result.text == text
    assert result.removed == {}


def test_card_digits_are_not_also_counted_as_phones():
    result = redact("Card 4111 1111 1111 1111 and IBAN GB29 NWBK 6016 1331 9268 19")

    assert result.removed == {"card": 1, "iban": 1}


def test_trailing_text_does_not_stop_an_iban_from_validating():
    assert redact("GB29 NWBK 6016 1331 9268 19 ABC").text == "[IBAN] ABC"


def test_a_rejected_cue_does_not_hide_the_next_one():
    assert redact("Thanks, This is Tom Becker").text == "Thanks, This is [NAME]"


def test_numbers_without_a_country_code_are_read_in_the_default_region():
    text = "Ring me on 020 7946 0958."

    assert redact(text).removed == {}
    assert redact(text, default_region="GB").text == "Ring me on [PHONE]."


def test_placeholders_cover_every_kind():
    assert set(PLACEHOLDERS) == set(KINDS)
    assert PLACEHOLDERS["iban"] == "[IBAN]"


def test_no_seeded_personal_data_survives_redaction():
    rng = random.Random(2024)  # messages built as the demo seed builds them, from its templates and pools
    for _ in range(300):
        scenario, person = rng.choice(seed.SCENARIOS), seed._person(rng)
        message = scenario.message.format(**person)

        redacted = redact(message).text

        street, city = person["address"].split(", ", 1)
        city_name = re.split(r",| [0-9]| [A-Z]{2}[0-9]", city)[0]  # "San Francisco" of "San Francisco, CA 94105"
        inserted = [person[key] for key in ("email", "phone", "card", "iban", "name")]
        inserted += [*person["name"].split(), street, city_name]
        leaked = [value for value in inserted if value in redacted]
        assert not leaked, f"{leaked} left in {redacted!r}"

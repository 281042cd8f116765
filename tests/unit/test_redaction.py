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
    text = "Reference 020 7946 0958 is on the invoice."

    assert redact(text).removed == {}
    assert redact(text, default_region="GB").text == "Reference [PHONE] is on the invoice."


def test_after_a_phone_cue_a_number_in_another_countrys_format_is_found():
    # A German landline and a French mobile written as their owners write them, read with region US.
    assert redact("Please call me on 030 90182000 tomorrow.").text == "Please call me on [PHONE] tomorrow."
    assert redact("My mobile: 06 12 34 56 78").text == "My mobile: [PHONE]"


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


# -- Presidio with spaCy's NER, national IDs, IPs and dates of birth. Messages written by hand for
# these tests, not taken from (or tuned on) the benchmark's corpus (bench/redaction.py).


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My SSN is 536-22-8471, please verify me.", "My SSN is [NATIONAL_ID], please verify me."),
        ("social security number 536228471", "social security number [NATIONAL_ID]"),
        ("DNI 71234568A para la factura", "DNI [NATIONAL_ID] para la factura"),
        ("codice fiscale RSSMRA85T10A562S, grazie", "codice fiscale [NATIONAL_ID], grazie"),
        ("Mijn BSN is 111222333.", "Mijn BSN is [NATIONAL_ID]."),
        ("PESEL: 44051401359", "PESEL: [NATIONAL_ID]"),
        ("personnummer 811228-9874 for the claim", "personnummer [NATIONAL_ID] for the claim"),
        ("The login came from 203.0.113.77 at night.", "The login came from [IP] at night."),
        ("IPv6 2001:db8:85a3::8a2e:370:7334 was blocked", "IPv6 [IP] was blocked"),
        ("I was born on 14 February 1979.", "I was born on [DATE_OF_BIRTH]."),
        ("DOB 1988-11-30, account frozen", "DOB [DATE_OF_BIRTH], account frozen"),
        ("date of birth: 03/07/1965", "date of birth: [DATE_OF_BIRTH]"),
        ("Birthday is July 4, 1990 if you need it.", "Birthday is [DATE_OF_BIRTH] if you need it."),
    ],
)
def test_national_ids_ips_and_dates_of_birth_are_found(text, expected):
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Order 536228471 arrived damaged.",  # nine digits, valid as an SSN, but nothing says it is one
        "My order from 14 February 2026 never arrived.",  # a date, not a date of birth
        "Version 4.2.1 of the app, build 2024.03.15, crashes.",
        "Ticket ABCDEF12G34H567I is still open.",  # codice fiscale shape, wrong check letter
        "We were born to help: call us any time.",
        "Please call me about ticket 48291337 tomorrow.",  # after a phone cue, but a bare run: valid in Norway
        "Part 666-45-6789 is out of stock.",  # SSN shape, but no SSN starts with 666
    ],
)
def test_lookalikes_of_the_new_kinds_stay(text):
    assert redact(text).text == text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Yesterday Priya Raman phoned about the refund.", ["Priya", "Raman"]),
        ("Can you tell Mr. Okonkwo that his parcel is late?", ["Okonkwo"]),
        ("Our neighbour, Henrik Dahl, signed for the package.", ["Henrik", "Dahl"]),
    ],
)
def test_names_without_a_cue_are_found_by_the_model(text, names):
    result = redact(text)

    assert "[NAME]" in result.text
    assert not [name for name in names if name in result.text]
    assert set(names) <= set(result.names)


@pytest.mark.parametrize(
    "address",
    [
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        "221B Baker Street, London NW1 6XE",
        "Kastanienallee 12, 10435 Berlin",
        "14 rue des Lilas, 69003 Lyon",
        "Via Garibaldi 22, 16124 Genova",
        "Calle de Alcalá 48, 28014 Madrid",
        "Prinsengracht 263, 1016 GV Amsterdam",
        "ul. Floriańska 15, 31-019 Kraków",
    ],
)
def test_addresses_in_several_countries_formats_are_removed_whole(address):
    result = redact(f"Please send the new charger to {address}. It is urgent.")

    assert result.text == "Please send the new charger to [ADDRESS]. It is urgent."


def test_a_request_keeps_its_words_when_its_personal_data_goes():
    text = (
        "Hello, I'm Rebecca Stone. My card 4111 1111 1111 1111 was charged twice for the annual plan "
        "on 3 March, and the second payment of 49 euros still shows as pending. Please refund it to "
        "DE89 3704 0044 0532 0130 00 or call me on +44 20 7946 0958. Order 48213, invoice INV-2291."
    )

    result = redact(text)

    # Every word that is not personal data is still there, in order.
    kept = re.sub(r"\[[A-Z_]+\]", " ", result.text).split()
    assert (
        kept
        == re.sub(r"Rebecca Stone|4111 1111 1111 1111|DE89 3704 0044 0532 0130 00|\+44 20 7946 0958", " ", text).split()
    )
    assert result.removed == {"phone": 1, "card": 1, "iban": 1, "name": 1}


def test_the_email_recognizer_reads_no_suffix_list_from_the_network(monkeypatch, tmp_path):
    import socket

    import tldextract

    from replyloop.adapters import redaction

    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    # The guard sees what a default tldextract does: fetch the public-suffix list on first use.
    tldextract.TLDExtract(cache_dir=str(tmp_path))("mail.example.co.uk")
    assert attempts, "the guard should have seen the stock extractor reach for the network"
    attempts.clear()

    redaction._engine.cache_clear()  # build the engine (model, recognizers) under the guard too
    try:
        result = redact("Write to ana.silva@mail.example.co.uk or ops@example.museum, not user@example.invalidtld")
    finally:
        redaction._engine.cache_clear()

    assert attempts == []
    assert result.text == "Write to [EMAIL] or [EMAIL], not user@example.invalidtld"


def test_the_api_never_imports_presidio_or_spacy_and_the_retrain_deps_load_them_on_first_redaction():
    from tests.unit.test_tracing import run_python

    out = run_python(
        """
        import sys
        from replyloop.handlers.api import include_all
        include_all()
        heavy = lambda: sorted({m.split(".")[0] for m in sys.modules} & {"spacy", "presidio_analyzer"})
        print(heavy())
        from replyloop.wiring import get_redactor
        redactor = get_redactor()
        print(heavy())
        print(redactor("Hi, I am Maria Lopez").text, heavy())
        """,
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    assert out.splitlines() == ["[]", "[]", "Hi, I am [NAME] ['presidio_analyzer', 'spacy']"]

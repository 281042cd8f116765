"""The redactor on a synthetic multi-locale corpus: recall and precision per kind, words lost, time.

    python bench/redaction.py            # 1,200 messages in 10 locales
    python bench/redaction.py --smoke    # 120 messages
    python bench/redaction.py --show 5   # also print 5 messages with what was left of their PII

The corpus is made here with Faker (seeded: the same messages every run): support requests in
English - a complaint or question, with two to four pieces of a customer's personal data from one
locale embedded in the sentences a customer would write them in. Each piece is recorded with its
kind and offsets, so the redactor's spans (`replyloop.adapters.redaction.find_spans`, the code
`redact` runs) can be scored:

- recall of a kind: pieces of that kind none of whose words survive (every word character of the
  piece lies inside a redacted span);
- precision of a kind: redacted spans of that kind that overlap a piece of the same kind;
- non-PII words lost: words outside every piece that fall inside a redacted span.

Phone numbers are Faker's, redrawn until libphonenumber says they are valid for the locale's
country (a real phone number is a valid one; Faker's digits often are not). National IDs are
Faker's where python-stdnum validates them (a UK "ZZ" National Insurance number does not: none for
en_GB and de_DE). The redactor runs as the export runs it: `default_region` US for every locale.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Faker locale -> the country its phone numbers belong to, and what its national ID is called.
LOCALES = {
    "en_US": ("US", "SSN"),
    "en_GB": ("GB", None),
    "de_DE": ("DE", None),
    "fr_FR": ("FR", "numéro de sécurité sociale (NIR)"),
    "es_ES": ("ES", "DNI"),
    "it_IT": ("IT", "codice fiscale"),
    "nl_NL": ("NL", "BSN"),
    "pl_PL": ("PL", "PESEL"),
    "sv_SE": ("SE", "personnummer"),
    "fi_FI": ("FI", "henkilötunnus"),
}
STRUCTURED = ("email", "phone", "card", "iban", "national_id", "ip", "date_of_birth")
TARGETS = {**dict.fromkeys(STRUCTURED, 0.95), "name": 0.85, "address": 0.85}
MAX_WORD_LOSS = 0.03

# The request itself: what a support message is about, with no personal data in it.
PROBLEMS = [
    "I was charged twice for my subscription this month and I would like one of the payments refunded.",
    "The app keeps crashing when I open the invoices page on my phone.",
    "My parcel shows as delivered but nothing arrived, and the driver left no note.",
    "I cannot log in since the last update; the password reset link says it has expired.",
    "The blender I ordered arrived with a cracked jug, so I need a replacement or my money back.",
    "Your website says my order is still processing after ten days, which seems far too long.",
    "I cancelled my plan last week but I was billed again yesterday.",
    "The discount code from your newsletter was not applied at checkout.",
    "Two of the items in my order are missing from the box.",
    "My account was locked after too many attempts and I need it unlocked before Friday.",
    "I would like to change the delivery slot for my next order to the morning.",
    "The tracking page has not updated for a week and I am getting worried.",
]
CLOSINGS = [
    "Thanks in advance for your help.",
    "Please let me know what you need from me.",
    "I hope this can be sorted quickly.",
    "Looking forward to hearing from you.",
    "",
]
# Sentences carrying one piece each; {} is where it goes. Names come with and without a cue.
TEMPLATES: dict[str, list[str]] = {
    "name": [
        "Hi, my name is {}.",
        "Hello, this is {} writing about my account.",
        "Regards,\n{}",
        "{} here, following up on my earlier message.",
        "The account is in the name of {}.",
        "My partner {} placed the order for me.",
    ],
    "email": ["You can reach me at {} if anything is unclear.", "My login email is {}.", "Email: {}"],
    "phone": ["Please call me on {} after 5pm.", "My mobile number is {}.", "Phone: {}"],
    "card": ["The charge was made on my card {}.", "I paid with the card ending in the number {}."],
    "iban": ["Please send the refund to my IBAN {}.", "My bank account is {}."],
    "national_id": ["For verification, my {label} is {}.", "You asked for my {label}: {}."],
    "ip": ["The suspicious login came from {}.", "My router's IP address is {} if that helps."],
    "date_of_birth": ["My date of birth is {}.", "I was born on {}.", "DOB: {}"],
    "address": [
        "Please ship the replacement to {}.",
        "I moved to {} last month, so please update my address.",
        "My billing address is {}.",
    ],
}
DOB_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y", "%m/%d/%Y"]
WORD = re.compile(r"\w+")
# The redactor's patterns were tried against the corpus of seed 16 while it was written; the figures
# reported come from another seed's corpus, which was not looked at message by message.
REPORT_SEED = 2026


@dataclass
class Message:
    locale: str
    text: str = ""
    pieces: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, sentence: str, kind: str | None = None, value: str = "") -> None:
        if self.text:
            self.text += "\n" if sentence.startswith("Regards") else " "
        if kind is None:
            self.text += sentence
            return
        before, after = sentence.split("{}")
        start = len(self.text) + len(before)
        self.text += before + value + after
        self.pieces.append((start, start + len(value), kind))


def _values(fake: Any, locale: str, rng: random.Random) -> dict[str, Callable[[], str | None]]:
    import phonenumbers
    from stdnum import iban, luhn

    region, _ = LOCALES[locale]

    def phone() -> str:
        for _ in range(50):
            number = fake.phone_number()
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                    return str(number)
            except phonenumbers.NumberParseException:
                continue
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def card() -> str:
        number = str(fake.credit_card_number())
        assert luhn.is_valid(number)
        if len(number) == 16 and rng.random() < 0.5:
            number = " ".join(number[i : i + 4] for i in range(0, 16, 4))
        return number

    def account() -> str:
        number = str(fake.iban())
        assert iban.is_valid(number)
        return iban.format(number) if rng.random() < 0.5 else number

    def national_id() -> str | None:
        return _national_id(fake, locale)

    def address() -> str:
        return ", ".join(line.strip() for line in str(fake.address()).splitlines())

    def name() -> str:
        return f"{fake.first_name()} {fake.last_name()}"

    def dob() -> str:
        born = fake.date_of_birth(minimum_age=18, maximum_age=90)
        return str(born.strftime(rng.choice(DOB_FORMATS)))

    def ip() -> str:
        return str(fake.ipv4_public() if rng.random() < 0.8 else fake.ipv6())

    return {
        "name": name,
        "email": lambda: str(fake.email()),
        "phone": phone,
        "card": card,
        "iban": account,
        "national_id": national_id,
        "ip": ip,
        "date_of_birth": dob,
        "address": address,
    }


def _national_id(fake: Any, locale: str) -> str | None:
    from stdnum.es import dni
    from stdnum.fi import hetu
    from stdnum.fr import nir
    from stdnum.it import codicefiscale
    from stdnum.nl import bsn
    from stdnum.pl import pesel
    from stdnum.se import personnummer
    from stdnum.us import ssn

    checks = {
        "en_US": ssn.is_valid,
        "fr_FR": nir.is_valid,
        "es_ES": dni.is_valid,
        "it_IT": codicefiscale.is_valid,
        "nl_NL": bsn.is_valid,
        "pl_PL": pesel.is_valid,
        "sv_SE": personnummer.is_valid,
        "fi_FI": hetu.is_valid,
    }
    if locale not in checks:
        return None
    for _ in range(20):
        value = str(fake.nif() if locale == "es_ES" else fake.ssn())
        if checks[locale](value):
            return value
    return None


def build_corpus(size: int, seed: int) -> list[Message]:
    """`size` messages, evenly over the locales; each has 2-4 pieces of different kinds."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = {}
    for index, locale in enumerate(LOCALES):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed + index)
    messages = []
    for index in range(size):
        locale = list(LOCALES)[index % len(LOCALES)]
        values = _values(fakers[locale], locale, rng)
        kinds = rng.sample([kind for kind in TEMPLATES if kind != "name"], rng.randint(1, 3))
        message = Message(locale)
        opening_name = rng.random() < 0.7
        if opening_name:
            message.add(rng.choice(TEMPLATES["name"][:2]), "name", values["name"]())
        message.add(rng.choice(PROBLEMS))
        for kind in kinds:
            value = values[kind]()
            if value is None:
                continue
            template = rng.choice(TEMPLATES[kind]).replace("{label}", str(LOCALES[locale][1]))
            message.add(template, kind, value)
        if not opening_name or rng.random() < 0.3:
            message.add(rng.choice(TEMPLATES["name"][2:]), "name", values["name"]())
        closing = rng.choice(CLOSINGS)
        if closing:
            message.add(closing)
        messages.append(message)
    return messages


@dataclass
class Score:
    pieces: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    spans: Counter[str] = field(default_factory=Counter)
    right: Counter[str] = field(default_factory=Counter)
    words: int = 0
    words_lost: int = 0
    seconds: list[float] = field(default_factory=list)
    leaks: list[tuple[Message, list[tuple[int, int, str]]]] = field(default_factory=list)

    def recall(self, kind: str) -> float:
        return self.caught[kind] / self.pieces[kind] if self.pieces[kind] else 1.0

    def precision(self, kind: str) -> float:
        return self.right[kind] / self.spans[kind] if self.spans[kind] else 1.0


def score(messages: list[Message]) -> Score:
    from replyloop.adapters.redaction import find_spans

    find_spans("warm-up: load the model before timing, Maria Lopez")
    result = Score()
    for message in messages:
        started = time.perf_counter()
        spans = find_spans(message.text)
        result.seconds.append(time.perf_counter() - started)

        def covered(start: int, end: int, spans: list[tuple[int, int, str]] = spans) -> bool:
            return any(s <= start and end <= e for s, e, _ in spans)

        leaked = False
        for start, end, kind in message.pieces:
            result.pieces[kind] += 1
            words = [m.span() for m in WORD.finditer(message.text, start, end)]
            if all(covered(start + 0, end + 0) for start, end in words):
                result.caught[kind] += 1
            else:
                leaked = True
        for start, end, kind in spans:
            result.spans[kind] += 1
            if any(start < p_end and p_start < end and p_kind == kind for p_start, p_end, p_kind in message.pieces):
                result.right[kind] += 1
        for match in WORD.finditer(message.text):
            if any(p_start < match.end() and match.start() < p_end for p_start, p_end, _ in message.pieces):
                continue
            result.words += 1
            if any(s < match.end() and match.start() < e for s, e, _ in spans):
                result.words_lost += 1
        if leaked:
            result.leaks.append((message, spans))
    return result


def run(report: Callable[..., None], smoke: bool, show: int = 0, seed: int = REPORT_SEED) -> Score:
    from replyloop.domain.redaction import KINDS

    size = 120 if smoke else 1200
    messages = build_corpus(size, seed)
    result = score(messages)
    for kind in KINDS:
        if not result.pieces[kind]:
            continue
        report(
            f"redaction {kind}",
            result.recall(kind),
            TARGETS[kind],
            f"recall {result.caught[kind]}/{result.pieces[kind]}, precision {result.precision(kind):.3f} "
            f"({result.right[kind]}/{result.spans[kind]} spans)",
            at_least=True,
        )
    lost = result.words_lost / result.words
    report(
        "redaction word loss",
        lost,
        MAX_WORD_LOSS,
        f"{result.words_lost}/{result.words} words outside any piece of personal data were redacted",
    )
    per_message = statistics.mean(result.seconds) * 1000
    p95 = sorted(result.seconds)[int(len(result.seconds) * 0.95)] * 1000
    report(
        "redaction time",
        0.0,
        None,
        f"{per_message:.1f} ms/message mean, p95 {p95:.1f} ms ({len(messages)} messages in {len(LOCALES)} locales)",
    )
    for message, spans in result.leaks[:show]:
        kept = [
            message.text[s:e]
            for s, e, k in message.pieces
            if not all(
                any(a <= w.start() and w.end() <= b for a, b, _ in spans) for w in WORD.finditer(message.text, s, e)
            )
        ]
        print(f"--- {message.locale}: left {kept}\n{message.text}\n", flush=True)
    return result


def _print_report(name: str, ratio: float, target: float | None, detail: str, at_least: bool = False) -> None:
    met = target is not None and (ratio >= target if at_least else ratio <= target)
    verdict = "n/a" if target is None else ("PASS" if met else "MISS")
    goal = f"({'>=' if at_least else '<='} {target})" if target is not None else ""
    print(f"{name:26} {ratio:7.3f} {goal:10} {verdict:5} {detail}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="120 messages instead of 1,200")
    parser.add_argument("--show", type=int, default=0, metavar="N", help="print N messages where something leaked")
    parser.add_argument("--seed", type=int, default=REPORT_SEED, help=f"corpus seed (default {REPORT_SEED})")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    run(_print_report, args.smoke, args.show, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

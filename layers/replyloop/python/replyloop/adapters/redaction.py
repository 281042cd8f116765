"""Personal data taken out of text before it becomes fine-tuning data (the `Redactor` port's adapter).

What is detected, and how:

- email: a regex (local part, `@`, dotted domain).
- phone: `phonenumbers` (Google's libphonenumber) finds candidates in free text and keeps only numbers
  that are valid for their region (`Leniency.VALID`); numbers without a `+` country code are read in
  `default_region`. Order numbers, years and amounts are not valid phone numbers, so they stay.
- card: runs of 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check
  (`stdnum.luhn`). Any 13-19 digit number passes Luhn one time in ten, so a long Luhn-valid
  reference number is redacted too: for training data, a lost reference beats a leaked card.
- iban: two capital letters, two check digits, then letters and digits with optional spaces, kept
  only when `stdnum.iban` validates the country format and the mod-97 checksum.
- address: a house number, one to four capitalised words and a street suffix ("455 Market St",
  "12 Baker Street"), the continental form "8 Rue de Rivoli" / "3 Via Roma", or the German
  "Hauptstraße 5"; with a following ", City" and a US ZIP, UK postcode or five-digit postcode.
- name: only where a cue announces one - "I'm", "I am", "my name is", "This is", "Account holder",
  "Name:", a "-- " signature, a sign-off ("Regards,", "Thanks,", "Cheers,", "Best,", "Sincerely,")
  or a greeting ("Hi", "Hello", "Hey", "Dear"). The cue must be followed by one to three capitalised
  words that are not common words ("I'm Sorry", "Dear Customer" are not names); after "I'm",
  "I am" and "This is", which also introduce adjectives, two such words are required.

What is not: names without a cue ("Maria called yesterday", "Sorry about that, Maria!", a single
name after "I'm"); addresses in free formats (no house number, no known street word, PO boxes,
lowercase); a city or postcode on its own; IBANs written in lowercase; dates of birth, national ID
numbers; and names and addresses in languages whose patterns differ from these.

Where two detections overlap, the union of their text is replaced once, under the kind detected
first (email, iban, card, address, phone, name): a phone number read inside an IBAN is counted as
the IBAN, and no part of either survives.

Why not Presidio: presidio-analyzer needs spaCy and a language model. Installing it measured
~410 MB of site-packages, beyond AWS Lambda's 250 MB unzipped limit for a function and its layers,
and the model is downloaded from the network, which CI does not have. The libraries here are pure
Python and validate what they find (checksums, numbering plans) rather than guess.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn

from replyloop.domain.redaction import KINDS, PLACEHOLDERS, Redaction

__all__ = ["KINDS", "PLACEHOLDERS", "Redaction", "redact"]


# Upper- and lowercase letters, including the Latin-1 accented ones ("Élodie", "Müller").
_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"

# The lookbehind makes a search start only at the beginning of a run of local-part characters, so
# a long run without an "@" is scanned once, not once per position.
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# A candidate is checked with stdnum; IBANs are at most 34 characters without spaces.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}")
# Digit groups separated by a single space or dash; which groups form a card is decided in code.
_DIGIT_RUN = re.compile(r"(?<!\w)[0-9]+(?:[ -][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_ANY_DIGIT = re.compile(r"[0-9]")

_WORD = rf"[{_UPPER}][{_LOWER}]+"
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Square)"
)
_STREET_PREFIX = r"(?:Rue|Avenue|Boulevard|Bd|Place|Quai|Chemin|Allée|Impasse|Via|Viale|Piazza|Calle|Rua|Avenida)"
_PARTICLE = r"(?:de|du|des|la|le|les|l'|d'|di|del|della|da|do|dos)"
_HOUSE_NUMBER = r"(?<![\w#/.,-])[0-9]{1,5}[A-Za-z]?"
_STREET = (
    rf"{_HOUSE_NUMBER}\s+(?:{_WORD}\s+){{1,4}}{_STREET_SUFFIX}\b\.?"
    rf"|{_HOUSE_NUMBER},?\s+{_STREET_PREFIX}\s+(?:{_PARTICLE}\s*){{0,2}}{_WORD}(?:[ -]{_WORD}){{0,2}}"
    rf"|\b[{_UPPER}][{_LOWER}]*(?:straße|strasse|weg|platz|gasse|allee)\s+[0-9]{{1,4}}[a-z]?\b"
)
_POSTCODE = r"(?:,?\s[A-Z]{2}\s[0-9]{5}(?:-[0-9]{4})?|\s[A-Z]{1,2}[0-9][A-Z0-9]?\s[0-9][A-Z]{2}|\s[0-9]{5})\b"
_ADDRESS = re.compile(rf"(?:{_STREET})(?:,\s*{_WORD}(?: {_WORD})?(?:{_POSTCODE})?)?")

# Name words: "Maria", "McDonald", "O'Brien", "Jean-Luc". No nested quantifiers: each part is
# delimited by a capital letter, a hyphen or an apostrophe.
_APOSTROPHE = "['\u2019]"  # typed or typographic
_NAME_WORD = (
    rf"(?:[{_UPPER}]{_APOSTROPHE}{_WORD}|[{_UPPER}][{_LOWER}]{{1,2}}[{_UPPER}][{_LOWER}]+|{_WORD})(?:-{_WORD})?\b"
)
# After a weak cue ("I'm Happy to help", "This is Great") only two capitalised words make a name.
_WEAK_CUE = rf"(?i:\bI{_APOSTROPHE}m|\bI\s+am|\bthis\s+is)\s+"
_STRONG_CUE = (
    r"(?:(?i:\bmy\s+name\s+is|\baccount\s+holder)\s*:?\s*"
    r"|(?i:\bname)\s*:\s*"
    r"|(?:^|(?<=\s))--\s*"
    r"|(?i:\b(?:regards|thanks|cheers|best|sincerely))\s*,\s*"
    r"|(?i:\b(?:hi|hello|hey|dear))[ \t]+)"
)
_NAME_WORDS = rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}"
_NAME = re.compile(rf"{_WEAK_CUE}(?P<weak>{_NAME_WORDS})|{_STRONG_CUE}(?P<strong>{_NAME_WORDS})")
_NON_SPACE = re.compile(r"\S+")

# Capitalised words that follow a cue without being a name: "I'm Sorry", "This is Not working".
_COMMON_WORDS = """
    A An The Not No Yes So Very Really Still Just Also Now Here There Back Going Having Trying Writing
    Looking Calling Contacting Reaching Waiting Getting Sorry Happy Glad Unable Afraid Sure Ready Done
    Fine Okay Ok Frustrated Confused Disappointed Interested New Again And But Or With From In On At
    For To Of My Your Our Their His Her This That It Hi Hello Dear Thanks Thank Customer Support Team
    Service Please Sent Email Phone Tel Mobile Card Account Order Everyone All Sir Madam Folks Guys
"""
_NOT_NAMES = frozenset(_COMMON_WORDS.split())

# Detection order, which also decides the kind of overlapping detections: validated numbers first.
_PRIORITY = ("email", "iban", "card", "address", "phone", "name")


def redact(text: str, *, default_region: str = "US", known_names: Iterable[str] = ()) -> Redaction:
    """Replace every span of personal data in `text` with its placeholder, counting spans per kind.

    `known_names` are name words found elsewhere in the same record (the customer's message): an
    agent's "Sorry for the wait, Maria." has no cue, but the message said "I'm Maria Lopez".
    """
    found = [
        *((start, end, "email") for start, end in _emails(text)),
        *((start, end, "iban") for start, end in _ibans(text)),
        *((start, end, "card") for start, end in _cards(text)),
        *((start, end, "address") for start, end in _addresses(text)),
        *((start, end, "phone") for start, end in _phones(text, default_region)),
        *((start, end, "name") for start, end in _names(text)),
        *((start, end, "name") for start, end in _known(text, known_names)),
    ]
    spans = _merge(found)
    names = tuple(
        dict.fromkeys(word for start, end, kind in spans if kind == "name" for word in text[start:end].split())
    )
    for start, end, kind in reversed(spans):  # from the end, so earlier offsets stay valid
        text = text[:start] + PLACEHOLDERS[kind] + text[end:]
    counts = Counter(kind for _, _, kind in spans)
    return Redaction(text=text, removed={kind: counts[kind] for kind in KINDS if counts[kind]}, names=names)


def _known(text: str, names: Iterable[str]) -> Iterator[tuple[int, int]]:
    """Each whole-word occurrence of a known name word (no per-record regex: nothing to compile or cache)."""
    for word in names:
        if len(word) < 2 or word in _NOT_NAMES:
            continue
        start = text.find(word)
        while start != -1:
            end = start + len(word)
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            if not before.isalnum() and not after.isalnum():
                yield start, end
            start = text.find(word, end)


def _merge(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping spans, in text order: overlapping detections become one span of the first-detected kind."""
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(found):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind = merged[-1]
            winner = min(last_kind, kind, key=_PRIORITY.index)
            merged[-1] = (last_start, max(last_end, end), winner)
        else:
            merged.append((start, end, kind))
    return merged


def _emails(text: str) -> Iterator[tuple[int, int]]:
    if "@" in text:
        yield from (match.span() for match in _EMAIL.finditer(text))


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    position = 0
    while match := _IBAN.search(text, position):
        span = _longest_valid_prefix(text, match.start(), match.end())
        if span:
            yield span
            position = span[1]
        else:
            position = match.start() + 1


def _longest_valid_prefix(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The longest valid IBAN from `start`, ending where a group ends (a trailing word is not part of it)."""
    for stop in range(end, start + 14, -1):
        if (stop == len(text) or not text[stop].isalnum()) and stdnum_iban.is_valid(text[start:stop]):
            return start, stop
    return None


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [group.span() for group in _DIGIT_GROUP.finditer(text, run.start(), run.end())]
        first = 0
        while first < len(groups):
            last = _card_end(text, groups, first)
            if last is None:
                first += 1
            else:
                yield groups[first][0], groups[last][1]
                first = last + 1


def _card_end(text: str, groups: list[tuple[int, int]], first: int) -> int | None:
    """The last group of the longest Luhn-valid 13-19 digit number starting at group `first`."""
    digits = ""
    candidates = []
    for index in range(first, len(groups)):
        digits += text[groups[index][0] : groups[index][1]]
        if len(digits) > 19:
            break
        if len(digits) >= 13:
            candidates.append((index, digits))
    return next((index for index, number in reversed(candidates) if luhn.is_valid(number)), None)


def _addresses(text: str) -> Iterator[tuple[int, int]]:
    yield from (match.span() for match in _ADDRESS.finditer(text))


def _phones(text: str, region: str) -> Iterator[tuple[int, int]]:
    if _ANY_DIGIT.search(text):
        matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
        yield from ((match.start, match.end) for match in matcher)


def _names(text: str) -> Iterator[tuple[int, int]]:
    position = 0
    while match := _NAME.search(text, position):
        group = "weak" if match.group("weak") else "strong"
        words = list(_NON_SPACE.finditer(text, match.start(group), match.end(group)))
        kept = next((index for index, word in enumerate(words) if word.group() in _NOT_NAMES), len(words))
        if kept >= (2 if group == "weak" else 1):
            yield words[0].start(), words[kept - 1].end()
            position = words[kept - 1].end()
        else:  # "Thanks, This is Tom Becker": look for a cue among the words just rejected
            position = match.start(group)

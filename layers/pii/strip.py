"""Remove from a built PII layer what the redactor never loads, and print what went.

    python strip.py DIR      # DIR: the layer's python/ folder (pip install --target DIR)

What goes, and why it is safe:
- spaCy's `lang/` data for every language but English and those spaCy's own modules import (the
  tokenizers it registers, the CLI's multi-language `xx`): stop words, tokenizer exceptions and lemma
  tables of ~70 languages, imported only when a pipeline of that language is loaded.
- phonenumbers' geocoding, carrier and time-zone data: the redactor uses its matcher and metadata,
  never `phonenumbers.geocoder`, `.carrier` or `.timezone`.
- test suites, Cython/C sources and headers, type stubs, bytecode caches (Lambda compiles on import).
- packages the DepsLayer already ships (pydantic and what it needs): one copy on the path.
The layer's Makefile then strips the debug symbols from the native libraries (not done here: it needs
a strip for the target's architecture).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

KEEP_LANGUAGES = {"en"}
# Languages spaCy's own modules import whatever the pipeline (registrations.py imports the ja, ko, th,
# vi and zh tokenizers to register them; the CLI's converters import xx): found by reading its source.
SPACY_LANGUAGE_IMPORT = re.compile(r"\blang\.([a-z]{2,3})\b")
PHONE_DATA = ("geodata", "carrierdata", "tzdata")
FROM_DEPS_LAYER = ("pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection")
SOURCE_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h", ".hpp", ".pyi")


def strip(root: Path) -> int:
    removed = 0

    def drop(path: Path) -> None:
        nonlocal removed
        if path.is_dir():
            removed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        elif path.exists():
            removed += path.stat().st_size
            path.unlink()

    lang = root / "spacy" / "lang"
    if not (lang / "en").is_dir():
        raise SystemExit(f"{lang / 'en'} is missing: is {root} a built PII layer?")
    keep = KEEP_LANGUAGES | imported_languages(root / "spacy")
    for entry in lang.iterdir():
        if entry.is_dir() and entry.name not in keep and entry.name != "__pycache__":
            drop(entry)
    for name in PHONE_DATA:
        drop(root / "phonenumbers" / name)
    for name in FROM_DEPS_LAYER:
        drop(root / name)
        drop(root / f"{name}.py")
        for info in root.glob(f"{name}-*.dist-info"):
            drop(info)
    for path in sorted(root.rglob("*"), reverse=True):  # deepest first, so a removed folder is not walked
        test_or_cache = path.is_dir() and path.name in ("tests", "test", "__pycache__")
        if test_or_cache or (path.is_file() and path.suffix in SOURCE_SUFFIXES):
            drop(path)
    return removed


def imported_languages(spacy: Path) -> set[str]:
    """The `spacy.lang.<code>` packages that spaCy's modules outside `lang/` and `tests/` import."""
    found = set()
    for module in spacy.rglob("*.py"):
        parts = module.relative_to(spacy).parts
        if parts[0] not in ("lang", "tests"):
            found |= set(SPACY_LANGUAGE_IMPORT.findall(module.read_text(encoding="utf-8")))
    return found & {entry.name for entry in (spacy / "lang").iterdir() if entry.is_dir()}


if __name__ == "__main__":
    target = Path(sys.argv[1])
    print(f"strip.py: removed {strip(target) / 1e6:.1f} MB from {target}")

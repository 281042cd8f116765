"""Export training data: failed replies -> redacted, validated, deduplicated, split JSONL and a manifest.

One pass over the rows, streaming: each line is written as soon as it is built, provenance goes to
spool files, the duplicate check's digests go to a SQLite file, and the manifest is written last
by streaming those spools into it. What stays in memory is bounded by the number of failure
categories (the prompt trainer's material), not by the number of rows (`bench/run.py` measures it).

Which rows: the worst-performing topics - every "not useful" verdict in the window, from replyloop's
own drafts and from interactions frontends recorded, grouped by topic (the interaction's, else the
one the explain worker assigned); a topic with more than `min_not_useful` of them is selected. Each
verdict is accounted for in the manifest: exported, held out for the gate's evaluation, or excluded
with a reason (the training policy's, a duplicate, too long, a topic not selected), and the counts add
up to the verdicts read. Rows are redacted first and spooled to disk by topic (SQLite), so memory does
not grow with them. Where rows come from and where files go are ports (`FailedSource`, `Outputs`), so
the weekly state machine (DynamoDB -> S3) and `replyloop export` (HTTP API -> a directory) share this code.

Held out: a message whose digest falls in the first `holdout_share` of the digest space (`split_of`)
never reaches a training line, a validation line or the prompt trainer's material; those rows are
the gate's evaluation cases (one per distinct message), so the candidate is never graded on its
own homework.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from replyloop.domain.bedrock import DEFAULT_MAX_EXAMPLE_TOKENS as BEDROCK_MAX_EXAMPLE_TOKENS
from replyloop.domain.bedrock import bedrock_example, validate_bedrock
from replyloop.domain.clock import format_timestamp
from replyloop.domain.gepa import FeedbackCase
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.reinforcement import rft_example, validate_rft
from replyloop.domain.retrain import PromptMaterial
from replyloop.domain.runs import DataFormat
from replyloop.domain.training import (
    DEFAULT_MAX_EXAMPLE_TOKENS,
    MIN_EXAMPLES,
    FailedReply,
    dedupe_key,
    dpo_example,
    message_digest,
    sft_example,
    split_of,
    topic_key,
    validate_dpo,
    validate_sft,
)
from replyloop.ports import FailedSource, Outputs, Redactor

FILES = {
    ("sft", "train"): "train.jsonl",
    ("sft", "validation"): "validation.jsonl",
    ("dpo", "train"): "dpo_train.jsonl",
    ("dpo", "validation"): "dpo_validation.jsonl",
    ("rft", "train"): "rft_train.jsonl",  # reinforcement fine-tuning: the input, and the grader's fields
    ("rft", "validation"): "rft_validation.jsonl",
}
# The gepa trainer's cases (domain/gepa.py): each exported line's message, preferred reply and what the
# explain worker said, redacted like the rest; train and validation splits only, in the manifest's
# counts and provenance like every file (so an erasure rewrites them too).
FEEDBACK_FILES = {"train": "feedback_train.jsonl", "validation": "feedback_validation.jsonl"}
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class ExportOptions:
    lookback_days: int = 30
    min_not_useful: int = 5  # the seeds' "more than 5 not-useful" rule, per topic
    validation_share: float = 0.2
    holdout_share: float = 0.25
    max_example_tokens: int = DEFAULT_MAX_EXAMPLE_TOKENS
    min_examples: int = MIN_EXAMPLES
    eval_cases: int = 100  # at most this many held-out cases are kept for the gate
    version: str | None = None  # only this assistant version's verdicts (None: every source)
    # `openai`: chat lines and DPO pairs; `bedrock`: `bedrock-conversation-2024` lines (no DPO pairs:
    # Bedrock's model customization takes none), in the same file names.
    data_format: DataFormat = "openai"

    def window(self, today: date) -> tuple[date, date]:
        return today - timedelta(days=self.lookback_days - 1), today


@dataclass(slots=True)
class ExportResult:
    counts: dict[str, int]
    excluded: dict[str, int]
    redacted: dict[str, int]
    topics: dict[str, int]  # the selected topics and their not-useful counts
    files: dict[str, str]
    eval_cases: list[dict[str, str]]  # held out: {"interactionId", "digest"} per distinct message
    material: PromptMaterial
    rows: int
    held_out: int = 0
    min_examples: int = MIN_EXAMPLES  # the export's `ExportOptions.min_examples`
    data_format: DataFormat = "openai"

    @property
    def examples(self) -> int:
        return self.counts.get("train.jsonl", 0) + self.counts.get("validation.jsonl", 0)

    @property
    def eval_case_ids(self) -> list[str]:
        return [case["interactionId"] for case in self.eval_cases]

    @property
    def enough(self) -> bool:
        return self.counts.get("train.jsonl", 0) >= self.min_examples

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "excluded": self.excluded,
            "redacted": self.redacted,
            "topics": self.topics,
            "files": self.files,
            "evalCases": self.eval_cases,
            "heldOut": self.held_out,
            "rows": self.rows,
            "examples": self.examples,
            "format": self.data_format,
        }


def _redacted(row: FailedReply, removed: Counter[str], redact: Redactor) -> FailedReply:
    """Every text of the row redacted; names found in the message are also removed from the replies."""
    message = redact(row.message)
    removed.update(message.removed)

    def clean(text: str | None) -> str | None:
        if text is None:
            return None
        result = redact(text, known_names=message.names)
        removed.update(result.removed)
        return result.text

    return FailedReply(
        interaction_id=row.interaction_id,
        message=message.text,
        ai_reply=clean(row.ai_reply) or "",
        agent_reply=clean(row.agent_reply),
        corrected_reply=clean(row.corrected_reply),
        failure_category=row.failure_category,
        explanation=clean(row.explanation),
        score_gain=row.score_gain,
        topic=row.topic,
        version=row.version,
        excluded_reason=row.excluded_reason,
    )


@dataclass(slots=True)
class _Provenance:
    """Interaction ids per file, in line order, spooled to disk so memory does not grow with rows."""

    spools: dict[str, IO[bytes]] = field(default_factory=dict)

    def add(self, name: str, interaction_id: str) -> None:
        spool = self.spools.get(name)
        if spool is None:
            spool = self.spools[name] = tempfile.TemporaryFile()  # noqa: SIM115
        spool.write(json.dumps(interaction_id).encode() + b"\n")

    def stream(self, name: str) -> Iterator[str]:
        spool = self.spools.get(name)
        if spool is None:
            return
        spool.seek(0)
        for line in spool:
            yield line.decode().rstrip("\n")

    def close(self) -> None:
        for spool in self.spools.values():
            spool.close()


class _SeenKeys:
    """The duplicate check's digests, on disk (SQLite's page cache bounds the memory), not in a set."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory()
        self._db = sqlite3.connect(Path(self._directory.name) / "seen.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE seen (key BLOB PRIMARY KEY) WITHOUT ROWID")

    def add(self, key: bytes) -> bool:
        """True when the key is new."""
        return self._db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (key,)).rowcount == 1

    def close(self) -> None:
        self._db.close()
        self._directory.cleanup()


class _Spool:
    """Redacted rows grouped by topic, on disk, with each topic's count (the selection's input)."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory()
        self._db = sqlite3.connect(Path(self._directory.name) / "rows.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE rows (topic TEXT, n INTEGER PRIMARY KEY, row TEXT)")
        self.counts: Counter[str] = Counter()

    def add(self, row: FailedReply) -> None:
        topic = topic_key(row.topic)
        self.counts[topic] += 1
        self._db.execute("INSERT INTO rows (topic, row) VALUES (?, ?)", (topic, json.dumps(asdict(row))))

    def rows(self) -> Iterator[tuple[str, FailedReply]]:
        """Every row, topic by topic (in order of arrival within one)."""
        for topic, text in self._db.execute("SELECT topic, row FROM rows ORDER BY topic, n"):
            yield topic, FailedReply(**json.loads(text))

    def close(self) -> None:
        self._db.close()
        self._directory.cleanup()


def _unusable(row: FailedReply) -> str | None:
    """Why a row can neither train nor be evaluated on: the training policy's reason, or no reply to prefer."""
    if row.excluded_reason:
        return row.excluded_reason
    preferred = row.preferred_reply
    if not preferred or not preferred.strip():
        return "no agent or corrected reply"
    if preferred.strip() == row.ai_reply.strip():
        return "preferred reply equals the AI reply"
    return None


@dataclass(slots=True)
class _Tally:
    """Everything one export pass accumulates (bounded, see the module docstring)."""

    prompt: PromptVersion
    outputs: Outputs
    options: ExportOptions
    counts: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    seen: _SeenKeys = field(default_factory=_SeenKeys)
    material: PromptMaterial = field(default_factory=PromptMaterial)
    eval_cases: list[dict[str, str]] = field(default_factory=list)
    provenance: _Provenance = field(default_factory=_Provenance)
    exported: int = 0
    held_out: int = 0

    def take(self, row: FailedReply) -> None:
        """One redacted row of a selected topic: exported, held out, or excluded with the reason."""
        reason = _unusable(row)
        if reason:
            self.excluded[reason] += 1
            return
        preferred = row.preferred_reply or ""
        split = split_of(row.message, self.options.validation_share, self.options.holdout_share)
        if split == "holdout":
            digest = message_digest(row.message)
            if not self.seen.add(b"holdout\x00" + digest.encode()):
                self.excluded["duplicate"] += 1
                return
            self.held_out += 1
            if len(self.eval_cases) < self.options.eval_cases:
                self.eval_cases.append({"interactionId": row.interaction_id, "digest": digest})
            return
        sft = sft_example(self.prompt, row.message, preferred)
        line, problem = sft, validate_sft(sft, self.options.max_example_tokens)
        if self.options.data_format == "bedrock" and problem is None:
            line = bedrock_example(sft["messages"])
            problem = validate_bedrock(line, min(self.options.max_example_tokens, BEDROCK_MAX_EXAMPLE_TOKENS))
        if problem:
            self.excluded["too long" if problem.startswith("longer than") else f"invalid: {problem}"] += 1
            return
        if not self.seen.add(dedupe_key(row.message, preferred)):
            self.excluded["duplicate"] += 1
            return
        self.exported += 1
        self._write(FILES[("sft", split)], line, row.interaction_id)
        case = FeedbackCase(
            interaction_id=row.interaction_id,
            message=row.message,
            reference=preferred,
            agent_reply=row.agent_reply,
            ai_reply=row.ai_reply,
            failure_category=row.failure_category,
            explanation=row.explanation,
            topic=row.topic,
        )
        self._write(FEEDBACK_FILES[split], case.to_json(), row.interaction_id)  # in the provenance: erasable
        if split == "train":
            self.material.add(row)
        if self.options.data_format != "openai":
            return
        if row.ai_reply.strip():
            pair = dpo_example(self.prompt, row.message, preferred, row.ai_reply)
            if validate_dpo(pair, self.options.max_example_tokens) is None:
                self._write(FILES[("dpo", split)], pair, row.interaction_id)
        rft = rft_example(self.prompt, row.message, preferred)
        if validate_rft(rft, self.options.max_example_tokens) is None:
            self._write(FILES[("rft", split)], rft, row.interaction_id)

    def _write(self, name: str, example: dict[str, Any], interaction_id: str) -> None:
        self.outputs.write(name, json.dumps(example, ensure_ascii=False) + "\n")
        self.counts[name] += 1
        self.provenance.add(name, interaction_id)

    def file_counts(self) -> dict[str, int]:
        return {name: self.counts.get(name, 0) for name in [*FILES.values(), *FEEDBACK_FILES.values()]}


def export_training_data(
    source: FailedSource,
    prompt: PromptVersion,
    outputs: Outputs,
    options: ExportOptions,
    *,
    redactor: Redactor,
    run_id: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    start, end = options.window(now.date())
    tally = _Tally(prompt, outputs, options)
    spool = _Spool()
    removed: Counter[str] = Counter()
    try:
        for raw in source.failed(start, end, options.version):
            spool.add(_redacted(raw, removed, redactor))
            if progress:
                progress(1)
        selected = {topic: n for topic, n in sorted(spool.counts.items()) if n > options.min_not_useful}
        for topic, row in spool.rows():
            if topic in selected:
                tally.take(row)
            else:
                tally.excluded["topic not selected"] += 1
        rows = sum(spool.counts.values())
        excluded = sum(tally.excluded.values())
        accounting = {"verdicts": rows, "exported": tally.exported, "heldOut": tally.held_out, "excluded": excluded}
        if tally.exported + tally.held_out + excluded != rows:  # pragma: no cover - a bug, never data
            raise AssertionError(f"The export's counts do not add up: {accounting}")
        rule = f"topics with more than {options.min_not_useful} not-useful verdicts"
        header = {
            "runId": run_id,
            "createdAt": format_timestamp(now),
            "window": {"from": start.isoformat(), "to": end.isoformat()},
            "selection": {
                "rule": rule + (f", assistant version {options.version} only" if options.version else ", every source"),
                "notUsefulByTopic": dict(sorted(spool.counts.items())),
                "selected": selected,
            },
            "prompt": {"name": prompt.name, "version": prompt.version},
            "format": options.data_format,
            "rows": rows,
            "accounting": accounting,
            "counts": tally.file_counts(),
            "excluded": dict(tally.excluded),
            "heldOut": {"share": options.holdout_share, "cases": tally.eval_cases},
            "redacted": dict(removed),
            "validationShare": options.validation_share,
            "minExamples": options.min_examples,
        }
        _write_manifest(outputs, header, tally.provenance, [name for name, n in tally.file_counts().items() if n])
    finally:
        tally.provenance.close()
        tally.seen.close()
        spool.close()
    return ExportResult(
        counts=tally.file_counts(),
        excluded=dict(tally.excluded),
        redacted=dict(removed),
        topics=selected,
        files=outputs.finish(),
        eval_cases=tally.eval_cases,
        material=tally.material,
        rows=rows,
        held_out=tally.held_out,
        min_examples=options.min_examples,
        data_format=options.data_format,
    )


def _write_manifest(outputs: Outputs, header: dict[str, Any], provenance: _Provenance, names: list[str]) -> None:
    """The header, then `provenance`: per file, the interaction id of each line, streamed from the spools."""
    outputs.write(MANIFEST, json.dumps(header, indent=2)[:-2] + ',\n  "provenance": {')
    for index, name in enumerate(names):
        outputs.write(MANIFEST, f"{',' if index else ''}\n    {json.dumps(name)}: [")
        for number, encoded in enumerate(provenance.stream(name)):
            outputs.write(MANIFEST, ("," if number else "") + encoded)
        outputs.write(MANIFEST, "]")
    outputs.write(MANIFEST, "\n  }\n}\n")


# -- outputs --------------------------------------------------------------------------------------


class DirectoryOutputs:
    """Files in a local directory (`replyloop export --out DIR`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, IO[str]] = {}

    def write(self, name: str, text: str) -> None:
        handle = self._files.get(name)
        if handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = self._files[name] = (self.directory / name).open("w", encoding="utf-8")
        handle.write(text)

    def finish(self) -> dict[str, str]:
        for handle in self._files.values():
            handle.close()
        return {name: str(self.directory / name) for name in self._files}


def iter_pages(fetch: Callable[[str | None], tuple[Iterable[Any], str | None]]) -> Iterator[Any]:
    """Every item of a cursor-paginated listing, one page in memory at a time."""
    cursor: str | None = None
    while True:
        items, cursor = fetch(cursor)
        yield from items
        if not cursor:
            return


def late_evaluation_cases(
    rows: Iterable[FailedReply], redactor: Redactor, options: ExportOptions, *, known: set[str], limit: int
) -> list[dict[str, str]]:
    """Evaluation cases from failures that arrived after the export: usable ones whose (redacted) message
    falls in the held-out split - so no trainer saw it, by construction - and whose digest is not `known`
    (already a case, or an exemplar of the candidate's prompt). One per distinct message, at most `limit`."""
    cases: list[dict[str, str]] = []
    seen = set(known)
    for raw in rows:
        if len(cases) >= limit:
            break
        row = _redacted(raw, Counter(), redactor)
        if _unusable(row) or split_of(row.message, options.validation_share, options.holdout_share) != "holdout":
            continue
        digest = message_digest(row.message)
        if digest not in seen:
            seen.add(digest)
            cases.append({"interactionId": row.interaction_id, "digest": digest, "late": "true"})
    return cases

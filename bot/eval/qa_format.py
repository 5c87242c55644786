"""The Q&A file format of ``newsbot eval``: one JSON object a line.

The fields are ``tests/qa/README``'s (id, question, answer, must_contain,
source_files, outlets, kind), plus RealTime QA's extras (week, date, choices,
asked_by). ``date`` is the day the question was asked: it becomes ``as_of``.

    load_qa(path)   a Q&A JSONL file -> validated ``QARecord``s (``QAFileError`` otherwise)
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from index import QAFileError, parse_date

KINDS = ("fact", "attribution", "comparison", "multi-article", "unanswerable")
OUTLET_KINDS = frozenset({"attribution", "comparison"})  # outlets graded as whole words
FIELDS = ("id", "question", "kind", "answer", "must_contain", "source_files", "outlets", "date")
EXTRA_FIELDS = ("week", "choices", "asked_by")  # RealTime QA's, accepted and ignored
REQUIRED = ("id", "question", "kind")


@dataclass(frozen=True)
class QARecord:
    id: str
    question: str
    kind: str
    must_contain: tuple[str, ...] = ()
    source_files: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    answer: str | None = None  # the reference answer, for the reader of the report
    date: date | None = None  # the day it was asked: the engine's as_of
    line: int = 0

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def _strings(value: Any, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QAFileError(f"{where}: '{name}' must be a list of strings, got {json.dumps(value)}")
    return tuple(value)


def parse_record(obj: Any, where: str, line: int = 0) -> QARecord:
    """One Q&A object; ``where`` (``file:line``) starts every error message."""
    if not isinstance(obj, dict):
        raise QAFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for name in obj:
        if name not in FIELDS and name not in EXTRA_FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise QAFileError(
                f"{where}: unknown field '{name}'{hint}. Known fields: {', '.join(FIELDS)}; "
                f"also accepted: {', '.join(EXTRA_FIELDS)}."
            )
    for name in REQUIRED:
        if name not in obj:
            raise QAFileError(f"{where}: missing required field '{name}'")
    qid = obj["id"]
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise QAFileError(f"{where}: 'id' must be a non-empty string")
    question = obj["question"]
    if not isinstance(question, str) or not question.strip():
        raise QAFileError(f"{where}: 'question' must be a non-empty string")
    kind = obj["kind"]
    if kind not in KINDS:
        raise QAFileError(f"{where}: unknown kind {json.dumps(kind)}; one of: {', '.join(KINDS)}")
    must = _strings(obj.get("must_contain", []), "must_contain", where)
    if kind != "unanswerable" and not [m for m in must if m.strip()]:
        raise QAFileError(
            f"{where}: missing required field 'must_contain' (a {kind} question needs at "
            "least one string a correct answer contains)"
        )
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise QAFileError(f"{where}: 'answer' must be a string")
    asked: date | None = None
    if obj.get("date") is not None:
        asked = parse_date(obj["date"]) if isinstance(obj["date"], str) else None
        if asked is None:
            raise QAFileError(f"{where}: 'date' must be YYYY-MM-DD, got {json.dumps(obj['date'])}")
    return QARecord(
        id=str(qid).strip(),
        question=question,
        kind=kind,
        must_contain=must,
        source_files=_strings(obj.get("source_files", []), "source_files", where),
        outlets=_strings(obj.get("outlets", []), "outlets", where),
        answer=answer,
        date=asked,
        line=line,
    )


def read_jsonl(path: Path, what: str, give: str) -> Iterator[tuple[str, int, Any]]:
    """Each non-blank line of a JSONL file as ``(path:line, line number, object)``;
    ``QAFileError`` naming the file (``what``: its kind, ``give``: what to give
    instead of a folder) or the line when it cannot be read."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise QAFileError(f"No such {what}: {path}") from None
    except IsADirectoryError:
        raise QAFileError(f"{path} is a folder; give {give}") from None
    except OSError as e:
        raise QAFileError(f"{path}: unreadable ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise QAFileError(f"{path}: not UTF-8 text (byte {e.start})") from None
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            yield where, n, json.loads(raw)
        except json.JSONDecodeError as e:
            raise QAFileError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None


def load_qa(path: Path, warn: Callable[[str], None] | None = None) -> list[QARecord]:
    """The records of a Q&A JSONL file (one JSON object a line; blank lines ignored).

    A repeated id is kept apart as ``ID#2``, ``ID#3``..., and ``warn`` is told:
    reports and baselines key questions by id. (RealTime QA's questions.jsonl
    repeats two ids for different questions.)
    """
    records: list[QARecord] = []
    first_line: dict[str, int] = {}
    for where, n, obj in read_jsonl(path, "Q&A file", "a .jsonl file of questions"):
        rec = parse_record(obj, where, n)
        if rec.id in first_line:
            unique = next(
                f"{rec.id}#{i}" for i in range(2, n + 2) if f"{rec.id}#{i}" not in first_line
            )
            if warn:
                warn(
                    f"{where}: duplicate id '{rec.id}' (first on line {first_line[rec.id]}); "
                    f"reported as '{unique}'"
                )
            rec = replace(rec, id=unique)
        first_line[rec.id] = n
        records.append(rec)
    if not records:
        raise QAFileError(
            f"{path} holds no questions. Write one JSON object a line, e.g. "
            '{"id": "q1", "question": "...", "kind": "fact", "must_contain": ["..."]}'
        )
    return records

"""Multi-turn evaluation: conversations, asked turn by turn as a chat would ask them.

A conversations file is JSONL, one conversation a line::

    {"id": "c01", "case": "follow-up", "date": "2024-09-01", "turns": [
      {"question": "Which outlet reported that Ryder ...?", "outlets": ["RT"]},
      {"question": "When?", "must_contain": ["2024-08-27"], "from_last": true},
      {"question": "and what did Kirby say?", "speaker": "Kirby"}]}

Each turn is asked through ``bot.conversation.Conversation`` (the REPL's and
Discord's), with the previous answer, and graded on what it sets:

- ``must_contain``: strings the answer contains (case-insensitive);
- ``must_not_contain``: strings it must not contain;
- ``outlets``: each is named (as a whole word) and cited;
- ``speaker``: the answer gives quotes to this person, and to nobody else;
- ``refused``: true when a correct answer declines (default false);
- ``from_last``: true when it must be answered from the last answer's sources,
  false when it must be searched afresh;
- ``case``: a label (also on the conversation) that groups turns in the report.

A turn passes when every check it sets holds; a conversation passes when all its
turns do. ``newsbot eval FILE`` runs a conversations file when its records have
``turns``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot import FROM_LAST, Answer, AskOptions, Conversation, Mode, same_person
from index import NewsbotError, QAFileError

from .qa_format import read_jsonl

TURN_FIELDS = (
    "question",
    "must_contain",
    "must_not_contain",
    "outlets",
    "speaker",
    "refused",
    "from_last",
    "case",
    "answer",
)
FIELDS = ("id", "turns", "case", "date", "answer")
_GIVEN = re.compile(r"reports what (.+?) said:|^(.+?) said it, ", re.M)


class TurnsFileError(QAFileError):
    """A conversations file that cannot be read (named in the message)."""


@dataclass(frozen=True)
class TurnSpec:
    question: str
    must_contain: tuple[str, ...] = ()
    must_not_contain: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    speaker: str | None = None
    refused: bool = False
    from_last: bool | None = None
    case: str = ""


@dataclass(frozen=True)
class ConversationSpec:
    id: str
    turns: tuple[TurnSpec, ...]
    date: date | None = None


@dataclass
class TurnResult:
    conversation: str
    n: int
    spec: TurnSpec
    answer: str = ""
    searched: str | None = None
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation,
            "turn": self.n,
            "case": self.spec.case,
            "question": self.spec.question,
            "answer": self.answer,
            "searched_for": self.searched,
            "passed": self.passed,
            "reasons": self.reasons,
            "seconds": round(self.seconds, 3),
        }


def is_turns_file(path: Path) -> bool:
    """Whether ``path`` holds conversations (its first record has ``turns``)."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    return isinstance(obj, dict) and "turns" in obj
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # the question loader says what is wrong with it
    return False


def _strings(obj: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    v = obj.get(name, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TurnsFileError(f"{where}: '{name}' must be a list of strings")
    return tuple(v)


def _turn(obj: Any, where: str, case: str) -> TurnSpec:
    if not isinstance(obj, dict):
        raise TurnsFileError(f"{where}: a turn must be a JSON object")
    unknown = [k for k in obj if k not in TURN_FIELDS]
    if unknown:
        raise TurnsFileError(
            f"{where}: unknown turn field '{unknown[0]}'; known: {', '.join(TURN_FIELDS)}"
        )
    q = obj.get("question")
    if not isinstance(q, str) or not q.strip():
        raise TurnsFileError(f"{where}: each turn needs a non-empty 'question'")
    speaker = obj.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise TurnsFileError(f"{where}: 'speaker' must be a string")
    for flag in ("refused", "from_last"):
        if flag in obj and not isinstance(obj[flag], bool):
            raise TurnsFileError(f"{where}: '{flag}' must be true or false")
    spec = TurnSpec(
        q,
        _strings(obj, "must_contain", where),
        _strings(obj, "must_not_contain", where),
        _strings(obj, "outlets", where),
        speaker,
        bool(obj.get("refused", False)),
        obj.get("from_last"),
        str(obj.get("case") or case),
    )
    if not (
        spec.must_contain or spec.must_not_contain or spec.outlets or spec.speaker or spec.refused
    ):
        raise TurnsFileError(
            f"{where}: a turn needs something to check: must_contain, must_not_contain, "
            "outlets, speaker or refused"
        )
    return spec


def load_turns(path: Path) -> list[ConversationSpec]:
    """The conversations of a JSONL file; errors name the line."""
    out: list[ConversationSpec] = []
    seen: set[str] = set()
    for where, _n, obj in read_jsonl(path, "conversations file", "a .jsonl file of conversations"):
        if not isinstance(obj, dict):
            raise TurnsFileError(f"{where}: expected a JSON object")
        unknown = [k for k in obj if k not in FIELDS]
        if unknown:
            raise TurnsFileError(
                f"{where}: unknown field '{unknown[0]}'; known: {', '.join(FIELDS)}"
            )
        cid = str(obj.get("id") or "").strip()
        if not cid or cid in seen:
            raise TurnsFileError(f"{where}: each conversation needs its own 'id'")
        seen.add(cid)
        turns = obj.get("turns")
        if not isinstance(turns, list) or not turns:
            raise TurnsFileError(f"{where}: 'turns' must be a non-empty list")
        asked = None
        if obj.get("date") is not None:
            try:
                asked = date.fromisoformat(str(obj["date"]))
            except ValueError:
                raise TurnsFileError(f"{where}: 'date' must be YYYY-MM-DD") from None
        case = str(obj.get("case") or "")
        specs = tuple(_turn(t, f"{where} turn {i}", case) for i, t in enumerate(turns, 1))
        out.append(ConversationSpec(cid, specs, asked))
    if not out:
        raise TurnsFileError(f"{path} holds no conversations")
    return out


def _word(text: str, s: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(s.lower())}(?!\w)", text.lower()) is not None


def grade_turn(spec: TurnSpec, answer: Answer) -> list[str]:
    """Why ``answer`` fails ``spec`` (empty when it passes)."""
    reasons: list[str] = []
    text = answer.answer
    if answer.refused != spec.refused:
        return ["declined an answerable turn" if answer.refused else "answered, should decline"]
    if spec.refused:
        return reasons
    low = text.lower()
    reasons += [f"answer lacks {s!r}" for s in spec.must_contain if s.lower() not in low]
    reasons += [f"answer contains {s!r}" for s in spec.must_not_contain if s.lower() in low]
    cited = {c.outlet for c in answer.citations}
    for o in spec.outlets:
        if not _word(text, o):
            reasons.append(f"outlet {o} not named")
        elif o not in cited:
            reasons.append(f"outlet {o} not cited")
    if spec.speaker:
        given = [g for m in _GIVEN.finditer(text) if (g := m.group(1) or m.group(2))]
        if not any(same_person(spec.speaker, g) for g in given):
            reasons.append(f"no quote given to {spec.speaker}")
        others = [g for g in given if not same_person(spec.speaker, g)]
        if others:
            reasons.append(
                f"quotes given to {', '.join(dict.fromkeys(others))}, not {spec.speaker}"
            )
    if spec.from_last is not None and (FROM_LAST in answer.notices) != spec.from_last:
        reasons.append(
            "searched afresh, should answer from the last answer"
            if spec.from_last
            else "answered from the last answer, should search afresh"
        )
    return reasons


def run_conversations(
    engine: Any,
    conversations: Sequence[ConversationSpec],
    mode: Mode = "extractive",
    on_turn: Callable[[TurnResult], None] | None = None,
) -> list[TurnResult]:
    results: list[TurnResult] = []
    outlets = engine.known_outlets()
    for conv_spec in conversations:
        conv = Conversation(outlets=outlets)
        for n, spec in enumerate(conv_spec.turns, 1):
            t0 = time.perf_counter()
            r = TurnResult(conv_spec.id, n, spec)
            try:
                standalone = conv.standalone(spec.question)
                opts = AskOptions(
                    mode=mode,
                    standalone=standalone if standalone != spec.question else None,
                    as_of=conv_spec.date,
                    previous=conv.last_answer,
                )
                answer = engine.ask(spec.question, opts)
                conv.add(spec.question, standalone, answer)
                r.answer, r.searched = answer.answer, answer.standalone_question
                r.reasons = grade_turn(spec, answer)
            except NewsbotError as e:
                r.reasons = [f"error: {e}"]
            r.seconds = time.perf_counter() - t0
            results.append(r)
            if on_turn:
                on_turn(r)
    return results


def summary(results: Sequence[TurnResult]) -> dict[str, Any]:
    def block(rs: Sequence[TurnResult]) -> dict[str, Any]:
        convs: dict[str, bool] = {}
        for r in rs:
            convs[r.conversation] = convs.get(r.conversation, True) and r.passed
        return {
            "turns": len(rs),
            "passed": sum(r.passed for r in rs),
            "turn_accuracy": round(sum(r.passed for r in rs) / len(rs), 4) if rs else None,
            "conversations": len(convs),
            "conversation_accuracy": round(sum(convs.values()) / len(convs), 4) if convs else None,
        }

    cases = sorted({r.spec.case for r in results})
    return {
        "overall": block(results),
        "by_case": {c or "-": block([r for r in results if r.spec.case == c]) for c in cases},
    }

"""newsbot's answers: question in, cited ``Answer`` out, and the front-ends.

The front door: the front-ends, eval, bench and train import from here (and
``index``). Names are loaded on first use, so ``import bot`` is cheap; the
embedding runtime, openai and rich load only when a name that needs them is
read.

    Engine.open(settings)        the engine over the index (``bot/answer/engine.py``)
    Engine.ask(question, opts)   -> Answer (frozen; ``to_json`` is ``ask --json``)
    AskOptions, Mode             filters, k, mode, as_of, streaming, cancel
    Conversation                 follow-ups made standalone (``Engine.conversation()``)
    ChatModel, OpenAIChat        the LLM seam (``bot/llm/client.py``)
    answer_with_llm, condense    the LLM answer and follow-ups (``bot/llm/answer.py``)
    load_qa, evaluate, Report    ``newsbot eval`` as a library (``bot/eval/``)

The packages: ``answer/`` (the engine and the extractive answer), ``llm/``
(the LLM path and the verification of its replies), ``eval/`` (Q&A files,
grading, reports), ``frontends/`` (CLI, REPL, Discord: parse and render only).
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # not typing's: importing typing would cost more than the rest of this
if TYPE_CHECKING:
    from typing import Any

    from .answer.answer_model import AnswerModel, load_shipped
    from .answer.conversation import Conversation, is_follow_up
    from .answer.declines import DECLINE, declined, is_decline
    from .answer.engine import NO_LLM, AskOptions, Engine, Mode, Scoring, check_question
    from .answer.followup import FROM_LAST
    from .answer.injection import is_instruction
    from .answer.overview import NOTE_LINE
    from .answer.query import QuestionInfo, analyse
    from .answer.speakers import same_person
    from .answer.types import Answer, Citation
    from .eval.grading import METRICS, QuestionResult, grade
    from .eval.qa_format import QARecord, load_qa, parse_record
    from .eval.report import Report, evaluate
    from .llm.answer import answer_with_llm, condense, format_sources
    from .llm.client import ChatModel, OpenAIChat, Reply, chat_model
    from .llm.verify import (
        Checked,
        ReplySentence,
        check_reply,
        label_words,
        parse_reply,
        supports,
    )

# name -> the module (under bot/) that defines it
_HOME = {
    "AnswerModel": "answer.answer_model",
    "load_shipped": "answer.answer_model",
    "Conversation": "answer.conversation",
    "is_follow_up": "answer.conversation",
    "DECLINE": "answer.declines",
    "declined": "answer.declines",
    "is_decline": "answer.declines",
    "NO_LLM": "answer.engine",
    "AskOptions": "answer.engine",
    "Engine": "answer.engine",
    "Mode": "answer.engine",
    "Scoring": "answer.engine",
    "check_question": "answer.engine",
    "FROM_LAST": "answer.followup",
    "is_instruction": "answer.injection",
    "NOTE_LINE": "answer.overview",
    "QuestionInfo": "answer.query",
    "analyse": "answer.query",
    "same_person": "answer.speakers",
    "Answer": "answer.types",
    "Citation": "answer.types",
    "METRICS": "eval.grading",
    "QuestionResult": "eval.grading",
    "grade": "eval.grading",
    "QARecord": "eval.qa_format",
    "load_qa": "eval.qa_format",
    "parse_record": "eval.qa_format",
    "Report": "eval.report",
    "evaluate": "eval.report",
    "answer_with_llm": "llm.answer",
    "condense": "llm.answer",
    "format_sources": "llm.answer",
    "ChatModel": "llm.client",
    "OpenAIChat": "llm.client",
    "Reply": "llm.client",
    "chat_model": "llm.client",
    "Checked": "llm.verify",
    "ReplySentence": "llm.verify",
    "check_reply": "llm.verify",
    "label_words": "llm.verify",
    "parse_reply": "llm.verify",
    "supports": "llm.verify",
}

__all__ = [
    "analyse",
    "Answer",
    "answer_with_llm",
    "AnswerModel",
    "AskOptions",
    "chat_model",
    "ChatModel",
    "check_question",
    "check_reply",
    "Checked",
    "Citation",
    "condense",
    "Conversation",
    "DECLINE",
    "declined",
    "Engine",
    "evaluate",
    "format_sources",
    "FROM_LAST",
    "grade",
    "is_decline",
    "is_follow_up",
    "is_instruction",
    "label_words",
    "load_qa",
    "load_shipped",
    "METRICS",
    "Mode",
    "NO_LLM",
    "NOTE_LINE",
    "OpenAIChat",
    "parse_record",
    "parse_reply",
    "QARecord",
    "QuestionInfo",
    "QuestionResult",
    "Reply",
    "ReplySentence",
    "Report",
    "same_person",
    "Scoring",
    "supports",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next read is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

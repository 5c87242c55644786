"""The sentences of a declined answer, in one place: the engines write them, the
LLM prompt asks for them, the checks recognise them, the tests look for them."""

from __future__ import annotations

DECLINE = "The corpus doesn't say"

# Why an answer is declined: the end of the sentence.
NO_ARTICLE = "no indexed article answers this question."
NOT_STATED = "no indexed article states whether this happened."
NOT_ANSWERED = "the retrieved articles do not answer this question."
# Said after DECLINE when the user's filters narrowed the search.
FILTERED = " in the articles matching your filters"


def declined(why: str, *, filtered: bool = False) -> str:
    """The declining sentence: "The corpus doesn't say[ in ...]: WHY"."""
    return f"{DECLINE}{FILTERED if filtered else ''}: {why}"


def is_decline(sentence: str) -> bool:
    """Does this sentence say the corpus doesn't answer?"""
    s = sentence.lower().replace("’", "'")
    return DECLINE.lower() in s or "corpus does not say" in s

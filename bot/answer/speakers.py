"""Who speaks in a sentence, and whether a question asks what one person said.

A sentence's speaker is the person the article names as saying it: named next
to a speech verb in the sentence itself ("Kirby said", "said Pentagon spokesman
John Kirby", "according to Kirby"), or, for a sentence whose speaker is only
"he"/"she" or that continues a quotation ("“We do not play any cards.”"),
the named speaker of the sentence before, followed back at most ``MAX_BACK``
sentences. Nobody else is ever taken as the speaker: "a senior Pentagon
official said" names no one, so that quote has no speaker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.sentences import sentence_spans
from index.text import terms
from index.types import Passage

from .extractive import _CAP, _NOT_NAMES, _PRONOUN_SPEAKER, SPEECH_VERBS, Scored, speaker_of
from .query import analyse

# "He declined to estimate ...": a sentence about what "he" said or would not say
_PRONOUN_SUBJECT = re.compile(
    rf"^\W*(?:He|She)\s+(?:also\s+|then\s+|later\s+)?(?:{SPEECH_VERBS}|declined|refused|"
    r"rejected|dismissed|called|suggested|responded|answered|asked|promised|vowed|"
    r"threatened|pledged)\b"
)
RARE_SHARE = 0.2  # a name in at most this share of chunks is specific (on_topic)
MAX_BACK = 3  # sentences looked back for the speaker of a pronoun or a continued quote

# "according to Kirby", "according to Pentagon spokesman John Kirby": the lower-case
# words skipped before the name may only be titles; "according to the White House
# Historical Association" or "the Biden administration" names no person.
_ACCORDING = re.compile(
    r"\baccording to\s+((?:[A-Z][\w’'\-]*\s+(?=[a-z]))?(?:[a-z]+\s+){0,2})"
    r"((?:(?:Mr|Mrs|Ms|Dr|Gen)\.\s+)?[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)*)((?:\.\w+)+)?(\s+[a-z]+)?"
)
# Capitalised words that make a name an institution's, not a person's
_INSTITUTION = frozenset(
    "Association Administration Department Agency Institute Bureau Ministry Service Office "
    "Council Commission Committee Foundation University College Center Centre Report Survey "
    "Data Organization Organisation Group Board Authority Project Fund Bank Court Police "
    "Times Post News Journal Review Network Index Study Census".split()
)
_AFTER_NAME = frozenset("who and in on at during".split())


def _according(sentence: str) -> str | None:
    """The person named by "according to ...", or None for anything else."""
    for m in _ACCORDING.finditer(sentence):
        skipped, name, tail, after = m.groups()
        lower = [w for w in skipped.split() if w[:1].islower()]
        if any(w not in _TITLE_WORDS for w in lower) or tail:
            continue  # "according to the ...", "according to Layoffs.fyi"
        if after and after.strip() not in _AFTER_NAME:
            continue  # "according to Biden administration officials"
        words = name.split()
        if re.search(r"[’']s$", words[-1]) or len(words) > 3:
            continue  # "according to Russia's agency"
        if any(w in _INSTITUTION or w in _NOT_NAMES for w in words):
            continue
        return _trim(name)
    return None


_OPENS_QUOTE = re.compile(r"^\s*[“\"]")
# "What did Kirby say", "what else did John Kirby say about ...", "what has Sullivan said",
# "What did Lavrov tell Blinken", "how did Kirby describe ...".
_ASKS_SAID = re.compile(
    r"\b(?:[Ww]hat|[Hh]ow)\s+(?:else\s+)?(?:did|does|has|had|do)\s+"
    r"((?:[A-Z][\w’'\-]+\s+){0,2}[A-Z][\w’'\-]+)\s+(?:else\s+)?"
    r"(?:say|said|tell|told|claim|state|stated|add|write|wrote|warn|announce|describe|think)\b"
)


# "the office of Ukrainian leader Vladimir Zelensky said": the office speaks, not Zelensky
_ON_BEHALF = re.compile(
    r"\b(?:office|offices|spokesman|spokeswoman|spokesperson|aides?|ministry|government|"
    r"administration|service|team|staff|lawyers?|party|campaign|allies)\s+of\s+"
    r"(?:[\w’'.\-]+\s+){0,4}$",
    re.I,
)
_TITLE_WORDS = frozenset(
    "spokesman spokeswoman spokesperson minister official director secretary president adviser "
    "advisor general chief leader governor mayor negotiator analyst expert coordinator "
    "ambassador communications strategic national security council press deputy foreign "
    "defense defence senior commander prime state vice".split()
)


def _trim(name: str) -> str:
    """ "Communications Coordinator John Kirby" -> "John Kirby"."""
    words = name.split()
    while len(words) > 1 and words[0].lower() in _TITLE_WORDS:
        words = words[1:]
    return " ".join(words)


# "Ramzan Kadyrov, released a video ..., assuring them that ...": the video's speaker
_STATEMENT = re.compile(
    rf"({_CAP}),?\s+(?:released|issued|posted|published|gave|recorded)\s+(?:a|an)\s+"
    r"(?:\w+\s+)?(?:video|statement|message|address|speech|interview)\b"
)


def name_of(sentence: str) -> str | None:
    """The person a sentence names as its speaker, by a speech verb or "according to"."""
    who = speaker_of(sentence)
    if who:
        at = sentence.find(who)
        if at >= 0 and _ON_BEHALF.search(sentence[:at]):
            return None
        return _trim(who)
    for m in _STATEMENT.finditer(sentence):
        words = [w for w in m.group(1).split() if w not in _NOT_NAMES]
        if words:
            return _trim(" ".join(words))
    return _according(sentence)


def resolve(sentences: list[str], i: int) -> str | None:
    """The speaker of ``sentences[i]``: named in it, or, when it speaks through a
    pronoun or only continues a quotation, the speaker of the sentences before."""
    who = name_of(sentences[i])
    if who:
        return who
    j = i
    while j > 0 and i - j < MAX_BACK:
        s = sentences[j]
        leans = bool(_PRONOUN_SPEAKER.search(s) or _PRONOUN_SUBJECT.match(s)) or (
            bool(_OPENS_QUOTE.match(s)) and not re.search(rf"\b(?:{SPEECH_VERBS})\b", s)
        )
        if not leans:
            return None
        j -= 1
        who = name_of(sentences[j])
        if who:
            return who
    return None


def speaker_in_passage(p: Passage, start: int) -> str | None:
    """The speaker of the sentence of ``p`` that starts at absolute offset ``start``."""
    spans = sentence_spans(p.text)
    texts = [p.text[s:e] for s, e in spans]
    for i, (s, _e) in enumerate(spans):
        if p.start + s == start:
            return resolve(texts, i)
    return None


def asked_speaker(question: str, outlets: Sequence[str] = ()) -> str | None:
    """The person whose words a question asks for ("what did Kirby say ..."), else
    None; an outlet ("what did RT say") is not a person."""
    m = _ASKS_SAID.search(question)
    if not m:
        return None
    words = [w for w in m.group(1).split() if w not in _NOT_NAMES]
    name = " ".join(words)
    if not name or analyse(name, list(outlets)).outlets:
        return None
    return name


Keep = Callable[[Passage, int], bool]  # a test of candidate sentences: (passage, absolute start)


def _speaker_test(test: Callable[[str | None], bool]) -> Keep:
    spans: dict[str, list[tuple[int, int]]] = {}

    def keep(p: Passage, start: int) -> bool:
        mine = spans.setdefault(p.chunk_id, sentence_spans(p.text))
        texts = [p.text[s:e] for s, e in mine]
        for i, (s, _e) in enumerate(mine):
            if p.start + s == start:
                return test(resolve(texts, i))
        return False

    return keep


def not_said_by(names: Sequence[str]) -> Keep:
    """Sentences some named person speaks who is none of ``names``."""
    return _speaker_test(lambda who: bool(who) and not any(same_person(n, who) for n in names))


def said_by(asked: str) -> Keep:
    """Sentences the article gives to ``asked`` (named in them, or resolved from before)."""
    return _speaker_test(lambda who: same_person(asked, who))


def same_person(asked: str, speaker: str | None) -> bool:
    """Whether ``speaker`` (as the article names them) is the person ``asked`` names:
    they share the surname ("Kirby" and "John Kirby"; "Mr. Peskov" and "Peskov")."""
    if not speaker:
        return False

    def surname(name: str) -> str:
        words = re.sub(r"[’']s$", "", name).replace(".", " ").split()
        return words[-1].lower() if words else ""

    a, s = surname(asked), surname(speaker)
    return bool(a) and a == s


_ASKING = frozenset(terms("say said tell told else add added think describe"))


def on_topic(
    scored: list[Scored],
    question: str,
    question_terms: set[str],
    who: str,
    rare: Callable[[str], bool],
) -> tuple[list[Scored], bool]:
    """The speaker's sentences about what they are asked about, and whether those
    may pass the lower bar.

    A rare name in what the question asks about ("Kharkiv" in "what did Peskov
    say about Kharkiv?") must be in the sentence: a speaker who never names it did not speak
    about it. Otherwise sentences that hold a word of the topic pass the lower bar,
    and without any, the usual bar applies."""
    own = set(terms(who))
    topic = question_terms - own - _ASKING
    if not topic:
        return scored, True
    # the names of what they are asked about, not of whom they spoke to ("tell Blinken")
    about = re.search(r"\b(?:about|on|regarding|concerning|over)\s+(.+)$", question)
    rest = about.group(1) if about else ""
    names = {
        t for w in re.findall(r"\b[A-Z][\w’'\-]+", rest) for t in terms(w) if t in topic and rare(t)
    }
    if names:
        return [s for s in scored if names & s.words], True
    on = [s for s in scored if topic & s.words]
    return (on, True) if on else (scored, False)

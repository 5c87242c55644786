"""Boilerplate cleaner: choose which paragraphs of a scraped article are body text.

Scraped news files mix the article with site chrome: banners, repeated
headlines, photo captions and credits, share prompts, newsletter and donation
appeals, ad-feedback widgets, related-story links and blog comment widgets.

`clean_text` never rewrites the text.  It splits it into paragraphs (one
non-blank line each, stripped of surrounding whitespace) and returns the
*offsets* of the paragraphs it keeps, so that ``text[start:end]`` can be quoted
as an exact citation.  Every paragraph it removes is reported with a reason.

The rules are general (none is keyed to one file or one site's article):

1. Headline: a paragraph equal to the title (ignoring case, punctuation and
   quote style) is a repeated headline.  When no title is given, the first
   headline-like line near the top becomes the title.  When the headline sits
   near the top and only short lines precede it, those lines are site chrome.
2. Trailing sections: a donation appeal ("A Message from ...:", "Dear
   readers,") or a blog comment widget ("admin in: ...") in the second half of
   the document removes everything from there to the end.
3. Single lines: image keyword lists, photo captions, boilerplate phrases
   (see `BOILERPLATE_PATTERNS`), teasers ending in " ...", related-story links
   ("Opinion:Some headline"), and any line that does not end like a sentence
   (headlines, section labels, buttons, credits).
4. Repeats: an exact duplicate paragraph, or a caption whose first sentence
   repeats the start of a sentence already kept, is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BOILERPLATE_PATTERNS", "Cleaned", "clean_text"]


@dataclass(frozen=True)
class Cleaned:
    """Result of `clean_text`; all offsets index the original text."""

    title: str | None
    spans: list[tuple[int, int]]
    dropped: list[tuple[int, int, str]]


# Tunable thresholds.
_TOP_LINES = 10  # the headline counts as "near the top" within this many lines
_LONG_PROSE_WORDS = 25  # a line this long that ends a sentence is body text
_COLON_PROSE_WORDS = 10  # a line ending in ":" this long introduces a quote or list
_RELATED_LINK_WORDS = 25  # label-plus-headline lines longer than this are prose
_BOILERPLATE_CHARS = 700  # longer paragraphs are only checked for "^" patterns
_TEASER_WORDS = 20  # "... ..." lines longer than this are prose ending in an ellipsis
_CREDIT_CHARS = 80  # how far from the end of a line a photo credit is looked for
_LEDE_KEY_WORDS = 8  # sentences sharing this many first words repeat each other

# Boilerplate phrases: a paragraph matching any of these is dropped with reason
# "boilerplate-phrase".  They are searched for (`re.search`) in the LOWER-CASED
# paragraph, so write them in lower case.  Edit freely; keep each pattern
# specific enough that it cannot match ordinary news prose.
BOILERPLATE_PATTERNS: tuple[str, ...] = (
    # Story status notes and share prompts.
    r"^this is a developing( news)? story\b",
    r"^this (story|article)( and headline)? (has been|have been|was|will be) updated\b",
    r"^(you can )?share this (story|article)\b",
    r"^story continues (below|after)\b",
    # Links and navigation.
    r"^(read|see|learn) more\b",
    r"^related( stories| coverage| content| articles?)?\s*:",
    r"^more news to know\b",
    r"^[^.!?]{0,60}\b(click|tap) here\b",
    # Newsletter and subscription prompts.
    r"\b(sign up|subscribe|signing up)\b.{0,120}\bnewsletters?\b",
    r"\bnewsletters?\b.{0,120}\b(sign up|subscribe)\b",
    r"\bnewsletter (provides|brings) you\b",
    r"^would you like to receive\b",
    r"\bsign up (here|now|today|for free)\b",
    r"\bsign up for\b.{0,40}\b(alerts|texts)\b",
    r"\bsubscribe (here|now|today)\b",
    r"^(already|not) a subscriber\b",
    r"^\W*(editor['’]s note:\s*)?(sign up|subscribe)\b",
    r"^never miss a (story|thing)\b",
    r"\bsupport (it|us|our work) with a subscription\b",
    r"\bthank you for supporting our journalism\b",
    r"\bsupport (local |quality |independent |strong local )?journalism\b",
    r"\bconsider supporting our journalism\b",
    # Privacy / consent text from sign-up forms.
    r"^we will use the (details|information) you have shared\b",
    r"^if you wish to object to the use of your data\b",
    r"^'we' includes\b",
    # Ad-feedback and video widgets.
    r"^(\d+\.\s*)?how relevant is this ad to you\b",
    r"^video player was slow to load\b",
    r"\bad froze or did not finish loading\b",
    r"^just watched\b",
    r"^video ad feedback\b",
    r"\breplay more videos\b",
    r"^must watch\b",
    r"^hit play on the player above\b",
    # Sponsorship, affiliate and partner disclosures.
    r"\bmay earn (us\b.{0,40})?(a commission|revenue|an affiliate fee)\b",
    r"\bprices were accurate at the time\b",
    r"\bcontent partner offering\b",
    r"\bits content is produced independently\b",
    r"\b(is )?(made possible|supported) in part by a grant from\b",
    r"^\W*recommendations are independently chosen\b",
    r"\ba version of this (story|article) (first )?appear(s|ed)\b",
    # Author contact lines and bylines.
    r"^(contributing|contributors?)\s*:",
    r"^the associated press contributed\b",
    r"^(contact|reach|follow|email)\b.{0,150}(@\w|\btwitter\b|\bfacebook\b|\binstagram\b)",
    r"\b(reporter|writer|editor|correspondent|columnist|covers)\b.{0,200}"
    r"\b(reach|contact|email) (him|her|them)\b",
    r"@[\w-]+\.(com|org|net)\b.*\b(twitter|facebook|instagram)\b",
    r"\b(twitter|facebook|instagram)\b.*@[\w-]+\.(com|org|net)\b",
    r"\bfollow( \w+)? on (twitter|facebook|instagram|tiktok|x)\b",
    r"^\W*(©|copyright\b)",
    # Weather/forecast widgets.
    r"\bcheck your local forecast\b",
)


def _alternation(patterns: list[str], prefix: str = "") -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile(prefix + "(?:" + "|".join(f"(?:{p})" for p in patterns) + ")")


# Python's `re` tries every alternative at every position, so for speed the
# patterns are grouped: "^" patterns are only tried at the start (`match`), and
# patterns starting with "\b" share one word-start lookbehind that skips
# mid-word positions.  Lower-casing the text beats re.IGNORECASE threefold.
_BOILERPLATE_AT_START = _alternation([p[1:] for p in BOILERPLATE_PATTERNS if p[0] == "^"])
_BOILERPLATE_ANYWHERE = [
    rx
    for rx in (
        _alternation([p[2:] for p in BOILERPLATE_PATTERNS if p.startswith(r"\b")], r"(?<!\w)"),
        _alternation([p for p in BOILERPLATE_PATTERNS if not p.startswith(("^", r"\b"))]),
    )
    if rx is not None
]


def _is_boilerplate(low: str) -> bool:
    """True when a lower-cased paragraph matches one of `BOILERPLATE_PATTERNS`."""
    if _BOILERPLATE_AT_START is not None and _BOILERPLATE_AT_START.match(low):
        return True
    if len(low) > _BOILERPLATE_CHARS:
        return False  # long prose may mention "sign up here"; widgets are short
    return any(rx.search(low) for rx in _BOILERPLATE_ANYWHERE)


# Starts of a trailing donation appeal; in the second half of a document the
# appeal runs to the end.
_APPEAL_START = re.compile(
    r"^(a message from\b.{0,60}:$|dear (readers?|friends),?$"
    r"|support (independent|quality|free) (journalism|media|press)\b)",
    re.IGNORECASE,
)
# A blog comment widget line: "admin in: Post title" or "https://... in: Post".
_COMMENT_WIDGET = re.compile(r"^(https?://\S+|[\w.@-]{2,40}) in: \S")
_URL_COMMENT = re.compile(r"^https?://\S+ in: \S")
# A related-story link glued to its label ("Opinion:Layoffs remind me ...") or
# behind an all-caps kicker ("SUPER BOWL RECORDS: Will any marks fall?").
_GLUED_LABEL = re.compile(r"^[^:]{2,80}[a-z)’'\"]:[A-Z\"'“‘]")
_CAPS_KICKER = re.compile(r"^[A-Z0-9$'’&-]+( [A-Z0-9$'’&/-]+)+ ?: ")
# A bare time stamp from a live blog: "9:45 p.m." or "11 a.m. ET".
_TIMESTAMP = re.compile(r"^\d{1,2}(:\d\d)? ?[ap]\.m\.( [A-Z]{2,4})?$")

# A paragraph of prose ends like a sentence, possibly inside closing quotes.
_SENTENCE_MARKS = (".", "!", "?", "…")
_CLOSERS = "\"'”’»)] \t"
# A sentence ending inside a line ("depot. Getty Images"), not an abbreviation.
_INNER_SENTENCE_END = re.compile(r"[a-z]{3}[.!?]\s+[A-Z]")
# Sentence boundary (used for captions repeating the lede).
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
# A photo credit at the end of a caption: "Alexander Reka / TASS",
# "Getty Images", "(AP Photo/...)", "Photo: ...", "Russian Ministry of Defense".
# It is searched for in the last `_CREDIT_CHARS` characters only.
_CREDIT_TAIL = re.compile(
    r"(\S\s*/\s*[A-Z][\w.&-]*(\s+[A-Z][\w.&-]*){0,3}"
    r"|\bGetty Images|\bAP Photo\b[^.]*|\((Photo|Image|Credit)\b[^)]*\)"
    r"|\b(Photo|Image|Photograph|Credit)s?\s*(by|:)[^.]*|\bcourtesy( of)?\b[^.]*"
    r"|\b(Reuters|AFP|TASS|EPA|Shutterstock|Sputnik|Xinhua)"
    r"|\b(Ministry|Department|Office|Service) of [A-Z][\w ]{2,30})\W*$",
)
# Words that show a paragraph describes a picture: "Above, a launcher fires"
# (a position word opening a sentence), "pictured", "in this image", ...
_CAPTION_CUE = re.compile(
    r"(?<!\w)((?<![^.!?] )(above|below|pictured|top|bottom|left|right|center|main)\s*[,:]"
    r"|(pictured|in this (image|photo|picture|handout|file)|file photo|photo(graph)?ed)\b"
    r"|(image|photo|picture|video)s? (shared|released|taken|provided|posted)\b)"
)  # searched for in the lower-cased paragraph
_WORD = re.compile(r"\w")
_NON_WORD = re.compile(r"[\W_]+")
_LINE = re.compile(r"[^\r\n]+")


def _norm(s: str) -> str:
    """Lower-case words only: quotes, punctuation and spacing are ignored."""
    return _NON_WORD.sub(" ", s.casefold()).strip()


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Offsets of each non-blank line, stripped of surrounding whitespace."""
    spans = []
    for m in _LINE.finditer(text):
        line = m.group()
        stripped = line.strip()
        if stripped:
            start = m.start() + len(line) - len(line.lstrip())
            spans.append((start, start + len(stripped)))
    return spans


def _has_terminal(p: str) -> bool:
    """True when p ends with . ! ? or …, possibly inside closing quotes/brackets."""
    return p.rstrip(_CLOSERS).endswith(_SENTENCE_MARKS)


def _is_teaser(p: str) -> bool:
    """A line cut off with an ellipsis after a space: "Great article with ..."."""
    stem = p.removesuffix("...").removesuffix("…")
    return stem != p and stem[-1:].isspace()


def _ends_sentence(p: str) -> bool:
    """True when a paragraph ends like prose (a long lead-in may end in ':')."""
    if _has_terminal(p):
        return True
    return p.endswith(":") and len(p.split()) >= _COLON_PROSE_WORDS


def _is_keyword_line(p: str) -> bool:
    """A comma-separated list of short items with no sentence: 'a, b, c, d'."""
    items = p.split(",")
    return (
        len(items) >= 4
        and not _has_terminal(p)
        and all(1 <= len(item.split()) <= 3 for item in items)
    )


def _looks_like_headline(p: str) -> bool:
    """A short line of words: not a sentence, label, list, caption or prompt."""
    n = len(p.split())
    return (
        3 <= n <= 25
        and not _has_terminal(p)
        and not p.endswith((":", ",", ";", "—", "–", "-"))
        and not _INNER_SENTENCE_END.search(p)
        and not _CREDIT_TAIL.search(p[-_CREDIT_CHARS:])
        and not _is_keyword_line(p)
        and not _is_boilerplate(p.lower())
    )


def _title_matcher(title: str) -> tuple[str, bool]:
    """Normalised title and whether it was truncated ("Some headline ...")."""
    stripped = title.strip()
    truncated = stripped.endswith(("...", "…"))
    return _norm(stripped.rstrip(".… ")), truncated


def _is_headline(p: str, norm_title: str, truncated: bool) -> bool:
    """True when a paragraph repeats the (normalised) title."""
    if not norm_title or len(p) > 2 * len(norm_title) + 20:
        return False
    norm_p = _norm(p)
    if truncated:  # a cut title matches a headline line that starts with it
        return (
            len(norm_title.split()) >= 4 and norm_p.startswith(norm_title) and not _ends_sentence(p)
        )
    return norm_p == norm_title


def _sentence_key(sentence: str) -> str | None:
    """First words of a sentence, for spotting a repeated sentence."""
    words = _norm(sentence).split()
    if len(words) < _LEDE_KEY_WORDS:
        return None
    return " ".join(words[:_LEDE_KEY_WORDS])


def _sentence_keys(p: str) -> set[str]:
    """Keys of every sentence of a paragraph."""
    keys = (_sentence_key(sentence) for sentence in _SENTENCE_END.split(p))
    return {key for key in keys if key is not None}


def _line_reason(p: str) -> str | None:
    """Why a single paragraph is not body text, or None if it may be body."""
    n_words = len(p.split())
    if not _WORD.search(p) or _TIMESTAMP.match(p):
        return "no-words"
    if _URL_COMMENT.match(p):
        return "comment-widget"
    if _is_teaser(p) and n_words <= _TEASER_WORDS:
        return "teaser"
    if _is_keyword_line(p):
        return "keyword-line"
    if _is_boilerplate(p.lower()):
        return "boilerplate-phrase"
    if n_words <= _RELATED_LINK_WORDS and (_GLUED_LABEL.match(p) or _CAPS_KICKER.match(p)):
        return "related-link"
    if not _ends_sentence(p):
        credit = _CREDIT_TAIL.search(p[-_CREDIT_CHARS:])
        return "caption" if credit else "no-terminal-punctuation"
    return None


class _RepeatedSentences:
    """Remembers the sentence starts of kept paragraphs (computed lazily)."""

    def __init__(self) -> None:
        self._kept: list[str] = []
        self._keys: set[str] = set()
        self._done = 0

    def keep(self, p: str) -> None:
        self._kept.append(p)

    def repeats(self, p: str) -> bool:
        """True when p's first sentence starts like a sentence already kept."""
        key = _sentence_key(_SENTENCE_END.split(p, maxsplit=1)[0])
        if key is None:
            return False
        for q in self._kept[self._done :]:
            self._keys.update(_sentence_keys(q))
        self._done = len(self._kept)
        return key in self._keys


def _find_headline(paras: list[str], title: str | None) -> tuple[str | None, set[int], int | None]:
    """Resolve the title; return it, indices of headline lines, and the first one."""
    if title is None:
        for p in paras[:_TOP_LINES]:
            if _looks_like_headline(p):
                title = p
                break
            if _has_terminal(p) and len(p.split()) >= _LONG_PROSE_WORDS:
                break  # the body has started: no headline on top
    if title is None:
        return None, set(), None
    norm_title, truncated = _title_matcher(title)
    found = {i for i, p in enumerate(paras) if _is_headline(p, norm_title, truncated)}
    return title, found, min(found, default=None)


def _chrome_before(paras: list[str], first_headline: int | None) -> int:
    """Number of leading lines that are site chrome (banner above the headline)."""
    if first_headline is None or first_headline >= _TOP_LINES:
        return 0
    for p in paras[:first_headline]:
        if _has_terminal(p) and len(p.split()) >= _LONG_PROSE_WORDS:
            return 0  # real prose above the headline: not a banner
    return first_headline


def _trailing_start(paras: list[str]) -> tuple[int, str]:
    """Index where a trailing appeal or comment widget begins (len if none).

    Only the second half of the document is searched.  A comment widget needs
    at least two widget-like lines (comment headers or teasers) from its start.
    """
    n = len(paras)
    widget_lines_after = [0] * (n + 1)  # widget-like lines in paras[i:]
    for i in range(n - 1, n // 2 - 1, -1):
        is_widget = bool(_COMMENT_WIDGET.match(paras[i]) or _is_teaser(paras[i]))
        widget_lines_after[i] = widget_lines_after[i + 1] + is_widget
    for i in range(n // 2, n):
        p = paras[i]
        if _APPEAL_START.match(p):
            return i, "trailing-appeal"
        if _COMMENT_WIDGET.match(p) and widget_lines_after[i] >= 2:
            return i, "comment-widget"
    return n, ""


def clean_text(text: str, *, title: str | None = None) -> Cleaned:
    """Split `text` into paragraphs and keep the article body.

    `title` is the known headline; when None, a headline-like first line is
    used.  Returns the title, kept spans and dropped spans with reasons.
    """
    offsets = _paragraphs(text)
    paras = [text[s:e] for s, e in offsets]
    title, headlines, first_headline = _find_headline(paras, title)
    chrome = _chrome_before(paras, first_headline)
    tail, tail_reason = _trailing_start(paras)

    spans: list[tuple[int, int]] = []
    dropped: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    kept = _RepeatedSentences()
    for i, ((start, end), p) in enumerate(zip(offsets, paras, strict=True)):
        reason: str | None
        if i < chrome:
            reason = "before-headline"
        elif i in headlines:
            reason = "headline"
        elif i >= tail:
            reason = tail_reason
        else:
            reason = _line_reason(p)
            if reason is None and p in seen:
                reason = "duplicate"
            elif reason is None and _CAPTION_CUE.search(p.lower()) and kept.repeats(p):
                reason = "caption"  # a caption repeating a sentence already kept
        seen.add(p)
        if reason is None:
            spans.append((start, end))
            kept.keep(p)
        else:
            dropped.append((start, end, reason))
    return Cleaned(title=title, spans=spans, dropped=dropped)

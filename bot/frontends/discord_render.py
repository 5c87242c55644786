"""Discord's rendering: an ``Answer`` as messages and embeds within Discord's
limits, and the text the bot shows made safe. Pure functions, text in and
text out, unit-tested without Discord.

Nothing the bot sends can ping anyone: mention syntax from questions and
articles is defused with a zero-width space, so it does not even look like a
ping (the client and every send also use ``AllowedMentions.none()``).

Nothing from an article is a link either: a masked link (``[text](url)``) in
article text, a title or an outlet name shows as plain text, and a bare URL
is broken with a zero-width space after its scheme so Discord does not
auto-link it (``inert_links``). The only links the bot sends are the source
links it builds from each article's provenance (``link``). Notices show no
URL or host: an LLM endpoint is an operator's detail (``public_notice``).
"""

from __future__ import annotations

import re
from typing import Any

import discord
from discord.utils import escape_markdown

from bot import Answer, Citation
from index import sentence_spans

ZWSP = "\u200b"

# Discord's limits, in characters.
MESSAGE_CHARS = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
EMBED_FIELDS = 25
EMBED_TOTAL = 6000
THREAD_NAME = 100

QUOTE_CHARS = 300  # the "short quote" of a source in the embed

SOURCES = "Sources"
MORE_SOURCES = "Sources (continued)"

# "@" before everyone/here or a user/role id: the part of mention syntax that pings.
_PING = re.compile(r"@(?=everyone|here|[!&]?\d)", re.IGNORECASE)


def defuse(text: str) -> str:
    """Make mention syntax inert (``@everyone``, ``@here``, ``<@id>``, ``<@&id>``):
    a zero-width space after the "@" keeps the text as it reads, without the ping."""
    return _PING.sub("@" + ZWSP, text)


# "https:" before "//": the scheme of a URL Discord would link.
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.\-]*):(?=//)", re.IGNORECASE)
# What a notice may say about where the LLM lives: a URL, a host:port, an IP address.
_URL = re.compile(r"\s*\b[a-z][a-z0-9+.\-]*://\S*", re.IGNORECASE)
_HOST = re.compile(
    r"\b(?:localhost|[\w-]+(?:\.[\w-]+)+):\d{1,5}\b|\b\d{1,3}(?:\.\d{1,3}){3}\b", re.IGNORECASE
)


def inert_links(text: str) -> str:
    """Article text with no link left in it: a masked link ``[text](url)`` no
    longer parses (zero-width space between ``]`` and ``(``) and no URL is
    auto-linked (zero-width space after ``https:``). It reads the same."""
    text = _SCHEME.sub(lambda m: f"{m.group(1)}:{ZWSP}", text)
    return text.replace("](", f"]{ZWSP}(")


def shown(text: str) -> str:
    """Text from an article or the index, safe to show: no markdown, no ping, no link."""
    return inert_links(escape_markdown(defuse(text)))


def _groups(text: str) -> list[tuple[int, int]]:
    """Spans of the outermost (...) and [...] groups of ``text``."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            if depth == 0:
                start = i
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans


def public_notice(notice: str) -> str:
    """A notice without the URL or address of an internal service (the LLM
    endpoint): what failed is said, where it lives is not. A bracketed detail
    that names an address ("(Cannot connect to host 10.0.0.5:8000 ...)") goes
    whole."""
    text = notice
    for s, e in reversed(_groups(notice)):
        if _URL.search(notice[s:e]) or _HOST.search(notice[s:e]):
            text = text[:s] + text[e:]
    text = _HOST.sub("", _URL.sub("", text))
    return " ".join(re.sub(r"\s+([.,;:)])", r"\1", text).split())


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def split_message(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut after a sentence
    where possible, else at a space, else anywhere."""
    text = text.strip()
    ends = [end for _, end in sentence_spans(text)]
    parts: list[str] = []
    start = 0
    while len(text) - start > limit:
        window = start + limit
        cut = max((e for e in ends if start < e <= window), default=0)
        if not cut:  # one sentence longer than a message
            cut = max(
                text.rfind(" ", start + 1, window + 1), text.rfind("\n", start + 1, window + 1)
            )
        if cut <= start:  # not even a space
            cut = window
        parts.append(text[start:cut].rstrip())
        start = cut
        while start < len(text) and text[start].isspace():
            start += 1
    parts.append(text[start:])
    return [p for p in parts if p]


def answer_markdown(answer: Answer) -> str:
    """The answer as Discord markdown: what was searched for, notices, then the text."""
    lines = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        lines.append(f"-# searched for: {shown(answer.standalone_question)}")
    lines += [f"-# note: {shown(public_notice(n))}" for n in answer.notices]
    lines.append(shown(answer.answer))
    return defuse("\n".join(lines))


def link(text: str, url: str | None) -> str:
    """A markdown link to ``url`` (already-escaped ``text``), or ``text`` alone.
    The one kind of link the bot sends: ``url`` is the article's provenance."""
    if not url or not url.startswith(("https://", "http://")):
        return text
    href = url.replace(" ", "%20").replace(")", "%29")
    label = text.replace("]", "\\]")
    return f"[{label}]({href})"


def source_field(c: Citation) -> tuple[str, str]:
    """An embed field for one citation: "[n] outlet · date", then the linked title and a quote."""
    name = f"[{c.id}] {inert_links(c.outlet_label)}" + (f" · {c.published}" if c.published else "")
    title = truncate(shown(c.title or c.source), 200)
    head = link(title, c.url)
    if len(head) > FIELD_VALUE // 2:  # a monster URL: keep room for the quote
        head = title
    room = min(QUOTE_CHARS, FIELD_VALUE - len(head) - 4)
    quote = truncate(shown(" ".join(c.quote.split())), room)
    return truncate(defuse(name), FIELD_NAME), truncate(f"{head}\n> {quote}", FIELD_VALUE)


def pack_fields(
    fields: list[tuple[str, str]], budget: int, max_fields: int = EMBED_FIELDS
) -> list[list[tuple[str, str]]]:
    """Group fields, in order, into embeds of at most ``max_fields`` fields and ``budget`` characters."""
    groups: list[list[tuple[str, str]]] = []
    size = 0
    for f in fields:
        n = len(f[0]) + len(f[1])
        if not groups or len(groups[-1]) >= max_fields or size + n > budget:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += n
    return groups


def source_embeds(citations: list[Citation]) -> list[discord.Embed]:
    """The cited sources as embeds within Discord's limits (usually one)."""
    groups = pack_fields([source_field(c) for c in citations], EMBED_TOTAL - len(MORE_SOURCES))
    embeds = []
    for i, group in enumerate(groups):
        embed = discord.Embed(title=SOURCES if i == 0 else MORE_SOURCES)
        for name, value in group:
            embed.add_field(name=name, value=value, inline=False)
        embeds.append(embed)
    return embeds


def reply_parts(answer: Answer) -> list[tuple[str | None, discord.Embed | None]]:
    """The messages that carry ``answer``: its text in pieces, the sources on the
    last piece, and any further source embeds in messages of their own."""
    texts = split_message(answer_markdown(answer)) or ["(no answer)"]
    embeds = source_embeds(answer.citations)
    parts: list[tuple[str | None, discord.Embed | None]] = [(t, None) for t in texts]
    if embeds:
        parts[-1] = (texts[-1], embeds[0])
        parts += [(None, e) for e in embeds[1:]]
    return parts


def strip_mention(content: str, user_id: int) -> str:
    """The message without the bot's own mention (``<@id>`` or ``<@!id>``)."""
    return " ".join(re.sub(rf"<@!?{user_id}>", " ", content).split())


def thread_name(question: str) -> str:
    return truncate(defuse(" ".join(question.split())), THREAD_NAME)


def about_text(articles: list[dict[str, Any]], llm: bool) -> str:
    outlets = {a["outlet"] for a in articles}
    days = sorted(a["published"] for a in articles if a.get("published"))
    span = f", published {days[0]} to {days[-1]}" if days else ""
    how = (
        "An LLM phrases the answer from the retrieved passages only, and each sentence is "
        "checked against the passages it cites."
        if llm
        else "Answers are sentences quoted word for word from the articles."
    )
    return defuse(
        f"newsbot answers questions from a fixed set of {len(articles)} news articles by "
        f"{len(outlets)} outlets{span}. It does not browse the web: when no indexed article "
        "answers a question, it says so.\n\n"
        "Every answer cites its sources as [n]: the outlet that wrote the words, the article "
        f"and its date, and the exact quote. Claims are attributed to the outlet that made them. {how}\n\n"
        "Use `/ask`, or mention me in a channel to start a thread where you can ask follow-up "
        "questions. `/outlets` lists the outlets."
    )

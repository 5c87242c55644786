"""The Discord front-end: ``/ask``, ``/outlets``, ``/about``, and @mentions answered in threads.

Shaped like discord.py's ``advanced_startup`` example: ``run_discord`` opens the
engine and hands it, ready, to ``NewsBot``; the commands live in one cog. The
engine runs in a worker thread (``asyncio.to_thread``) so the event loop keeps
its gateway heartbeat while the index is searched.

Nothing the bot sends can ping anyone: the client and every send use
``AllowedMentions.none()``, and mention syntax from questions and articles is
defused with a zero-width space, so it does not even look like a ping.

Nothing from an article is a link either: a masked link (``[text](url)``) in
article text, a title or an outlet name shows as plain text, and a bare URL
is broken with a zero-width space after its scheme so Discord does not
auto-link it (``inert_links``). The only links the bot sends are the source
links it builds from each article's provenance (``link``). Notices show no
URL or host: an LLM endpoint is an operator's detail (``public_notice``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import escape_markdown

from index.errors import ConfigError, NewsbotError, QuestionError
from index.sentences import sentence_spans
from index.settings import Settings
from index.types import Filters

from .conversation import Conversation, llm_condenser
from .engine import AskOptions, Engine, check_question
from .types import Answer, Citation

if TYPE_CHECKING:
    from discord.abc import MessageableChannel

log = logging.getLogger("newsbot.discord")

NO_PINGS = discord.AllowedMentions.none()
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
MAX_CHATS = 1000  # threads whose conversation is remembered (oldest forgotten first)

SOURCES = "Sources"
MORE_SOURCES = "Sources (continued)"
FRIENDLY_ERROR = (
    "Sorry, something went wrong while answering. It has been logged; please try again later."
)
HOW_TO_ASK = "Ask me a question after the mention, e.g. `@newsbot Who is Pat Ryder?`"

# "@" before everyone/here or a user/role id: the part of mention syntax that pings.
_PING = re.compile(r"@(?=everyone|here|[!&]?\d)", re.IGNORECASE)


# Pure helpers: text in, text out (unit-tested without Discord).


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


def outlet_label(c: Citation) -> str:
    if c.publisher and c.publisher.lower() not in c.outlet.lower():
        return f"{c.outlet} (via {c.publisher})"
    return c.outlet


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
    name = f"[{c.id}] {inert_links(outlet_label(c))}" + (f" · {c.published}" if c.published else "")
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


def parse_day(value: str | None, name: str) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise QuestionError(f"{name}: {value!r} is not a date (use YYYY-MM-DD).") from None


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


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key, over a sliding window.

    A ``limit`` of 0 or less turns limiting off.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}

    def hit(self, key: int) -> float:
        """Record a hit and return 0.0, or (recording nothing) the seconds to wait."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        return 0.0

    def message(self, wait: float) -> str:
        return (
            f"You have asked {self.limit} questions in the last {self.window:g} seconds. "
            f"Please wait {max(1, round(wait))} s before asking again."
        )


async def send_parts(
    send: Callable[..., Awaitable[Any]], parts: list[tuple[str | None, discord.Embed | None]]
) -> None:
    """Send each part with ``send`` (``channel.send`` or ``interaction.followup.send``)."""
    for content, embed in parts:
        kwargs: dict[str, Any] = {"allowed_mentions": NO_PINGS}
        if content:
            kwargs["content"] = content
        if embed is not None:
            kwargs["embed"] = embed
        await send(**kwargs)


# The bot.


@dataclass
class Chat:
    """One thread's conversation; the lock answers its questions one at a time, in order."""

    conversation: Conversation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Newsroom(commands.Cog):
    """The slash commands, and @mentions answered in threads with follow-ups."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.engine = bot.engine
        self.limiter = RateLimiter(
            bot.settings.discord_rate_limit, bot.settings.discord_rate_window
        )
        self.known_outlets = bot.engine.known_outlets()
        self.chats: dict[int, Chat] = {}  # thread (or DM) id -> its conversation

    @app_commands.command()
    @app_commands.describe(
        question="What you want to know",
        outlet="Only articles from this outlet",
        since="Only articles published on or after this day (YYYY-MM-DD)",
        until="Only articles published on or before this day (YYYY-MM-DD)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        outlet: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        """Answer a question from the indexed news articles, citing the outlets."""
        try:  # quick checks first: their messages can still be ephemeral
            q = check_question(question, self.bot.settings.max_question_chars)
            filters = Filters(
                outlet=self.engine.retriever.resolve_outlet(outlet) if outlet else None,
                since=parse_day(since, "since"),
                until=parse_day(until, "until"),
            )
        except NewsbotError as e:
            await self.fail(interaction, str(e))
            return
        wait = self.limiter.hit(interaction.user.id)
        if wait:
            await self.fail(interaction, self.limiter.message(wait))
            return
        await interaction.response.defer(thinking=True)
        try:
            answer = await asyncio.to_thread(self.engine.ask, q, AskOptions(filters=filters))
        except Exception:
            log.exception("/ask failed for user %s: %r", interaction.user.id, q[:200])
            await self.fail(interaction, FRIENDLY_ERROR)
            return
        await send_parts(interaction.followup.send, reply_parts(answer))

    @ask.autocomplete("outlet")
    async def outlet_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        low = current.lower()
        return [
            app_commands.Choice(name=o, value=o) for o in self.known_outlets if low in o.lower()
        ][:25]

    @app_commands.command()
    async def outlets(self, interaction: discord.Interaction) -> None:
        """List the news outlets in the index."""
        await interaction.response.defer(thinking=True)
        counts = await asyncio.to_thread(self.engine.store.outlets)
        lines = [f"**{shown(o)}**: {n} article{'' if n == 1 else 's'}" for o, n in counts.items()]
        text = truncate("\n".join(lines) or "The index is empty.", EMBED_DESCRIPTION)
        embed = discord.Embed(title="Indexed outlets", description=text)
        await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS)

    @app_commands.command()
    async def about(self, interaction: discord.Interaction) -> None:
        """What the corpus is, and how answers are sourced."""
        await interaction.response.defer(thinking=True)
        articles = await asyncio.to_thread(self.engine.store.articles)
        text = about_text(articles, self.bot.settings.llm_configured)
        embed = discord.Embed(title="About newsbot", description=truncate(text, EMBED_DESCRIPTION))
        await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS)

    async def fail(self, interaction: discord.Interaction, message: str) -> None:
        """Tell only the user who asked (ephemeral)."""
        message = truncate(defuse(message), MESSAGE_CHARS)
        if not interaction.response.is_done():
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        # The first follow-up after a public defer replaces the "thinking..." message
        # and is public whatever its flags; remove that message first.
        with suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_PINGS)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """What the commands did not handle themselves: log it, say sorry."""
        name = (
            interaction.command.name
            if interaction.command
            else interaction.data and interaction.data.get("name")
        )
        log.error("/%s failed for user %s", name, interaction.user.id, exc_info=error)
        with suppress(discord.HTTPException):
            await self.fail(interaction, FRIENDLY_ERROR)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """An @mention starts a thread; any message in that thread is a follow-up question."""
        me = self.bot.user
        if me is None or message.author.bot:
            return
        channel = message.channel
        mentioned = any(u.id == me.id for u in message.mentions)
        ours = isinstance(channel, discord.Thread) and channel.owner_id == me.id
        if not (mentioned or ours):
            return
        question = strip_mention(message.content, me.id)
        try:
            check_question(question, self.bot.settings.max_question_chars)
        except QuestionError as e:
            await message.reply(
                HOW_TO_ASK if not question else defuse(str(e)),
                mention_author=False,
                allowed_mentions=NO_PINGS,
            )
            return
        wait = self.limiter.hit(message.author.id)
        if wait:
            await message.reply(
                self.limiter.message(wait), mention_author=False, allowed_mentions=NO_PINGS
            )
            return
        target: MessageableChannel = channel
        try:
            if message.guild is not None and not isinstance(channel, discord.Thread):
                target = await message.create_thread(name=thread_name(question))
            await self.answer_in(target, question)
        except Exception:
            log.exception("Answering message %s in channel %s failed", message.id, channel.id)
            with suppress(discord.HTTPException):
                await target.send(FRIENDLY_ERROR, allowed_mentions=NO_PINGS)

    async def answer_in(self, channel: MessageableChannel, question: str) -> None:
        """Answer ``question`` in ``channel`` (a thread or DM), given its earlier turns."""
        chat = self.chat(channel.id)
        async with chat.lock:
            async with channel.typing():
                standalone, answer = await asyncio.to_thread(
                    self.answer_follow_up, chat.conversation, question
                )
            chat.conversation.add(question, standalone, answer)
            await send_parts(channel.send, reply_parts(answer))

    def answer_follow_up(self, conversation: Conversation, question: str) -> tuple[str, Answer]:
        """Runs in a worker thread: the standalone query, then the answer."""
        standalone = conversation.standalone(question)
        return standalone, self.engine.ask(question, AskOptions(standalone=standalone))

    def chat(self, channel_id: int) -> Chat:
        chat = self.chats.pop(channel_id, None) or Chat(
            Conversation(outlets=self.known_outlets, condense=llm_condenser(self.engine.settings))
        )
        self.chats[channel_id] = chat  # most recently used last
        while len(self.chats) > MAX_CHATS:
            del self.chats[next(iter(self.chats))]
        return chat


class NewsBot(commands.Bot):
    """The Discord client; receives the ready answer engine."""

    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # to read the question after an @mention (privileged)
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=NO_PINGS,
            help_command=None,
        )
        self.engine = engine
        self.settings = settings

    async def setup_hook(self) -> None:
        await self.add_cog(Newsroom(self))
        await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Register the slash commands: in one guild at once when DISCORD_GUILD_ID is
        set, else globally (which can take a while to show up)."""
        if self.settings.discord_guild_id:
            guild = discord.Object(id=self.settings.discord_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d slash command(s) to guild %s.", len(synced), guild.id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d slash command(s) globally.", len(synced))
        return synced

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: an @mention is a question, answered by ``Newsroom.on_message``."""

    async def on_ready(self) -> None:
        log.info("Logged in as %s; in %d server(s).", self.user, len(self.guilds))


def bot_token(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise ConfigError(
            "No Discord bot token. Set DISCORD_TOKEN in the environment or in .env "
            "(Discord developer portal > your application > Bot > Reset Token)."
        )
    return token


async def serve(engine: Engine, settings: Settings, token: str) -> None:
    async with NewsBot(engine=engine, settings=settings) as bot:
        await bot.start(token)


def run_discord(settings: Settings, *, open_engine: Callable[[Settings], Engine]) -> None:
    """Run the bot until interrupted. The token is checked before the index is opened."""
    token = bot_token(settings)
    if not logging.getLogger().handlers:
        discord.utils.setup_logging()
    engine = open_engine(settings)
    try:
        asyncio.run(serve(engine, settings, token))
    except discord.LoginFailure:
        raise ConfigError(
            "Discord rejected the bot token in DISCORD_TOKEN. Copy a fresh one from the "
            "developer portal (your application > Bot > Reset Token)."
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "Discord refused the Message Content intent. Enable it in the developer portal "
            "(your application > Bot > Privileged Gateway Intents > Message Content Intent)."
        ) from None
    except (aiohttp.ClientError, OSError) as e:  # before the first connection; later ones retry
        raise NewsbotError(f"Cannot reach Discord ({e}). Check the network connection.") from None
    except KeyboardInterrupt:
        log.info("Stopped.")
    finally:
        engine.close()

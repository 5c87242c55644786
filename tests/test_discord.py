"""The Discord bot, offline: pure helpers, then the bot on dpytest with the real seed engine.

What stands in for Discord, and why:

- Channel messages go through dpytest 0.7: real discord.py objects (Bot, Message,
  TextChannel, Member) on a fake HTTP client and gateway state.
- Threads: dpytest 0.7 has no thread endpoints (CraftSpider/dpytest#123). ``threads``
  adds the one the bot calls, the way dpytest fakes the rest of Discord: the fake
  server builds the thread payload and feeds THREAD_CREATE back through the
  client's state, so discord.py caches a real ``discord.Thread``. Messages in a
  thread are posted with ``post`` because dpytest's ``message()`` drops the guild id
  of non-GuildChannel channels.
- Slash commands: a real ``discord.Interaction`` built from an interaction payload,
  called through ``cog.<command>.callback``. Its one network seam, discord.py's
  webhook adapter (interaction callbacks and follow-ups), is replaced by
  ``InteractionAPI``, which records each request body and answers like Discord.
- What Discord would receive: ``payloads`` records the body of every channel message
  the bot sends (discord.py's ``handle_message_parameters``), ``allowed_mentions`` included.
- ``make_bot`` patches two gaps between dpytest 0.7 and discord.py 2.7: the member
  cache (dpytest resolves mentions from it) and the state's event loop (typing).

Not covered: the real gateway and HTTP, the command sync request (``tree.sync`` is
replaced; what it would sync is checked), and what Discord itself does with the
payloads (rendering, limits enforced server-side, ephemeral rules).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiohttp
import discord
import discord.abc
import discord.ext.test as dpytest
import discord.ext.test.runner as dpytest_runner
import discord.interactions
import discord.webhook.async_ as webhook_async
import pytest
import pytest_asyncio
from conftest import make_settings
from discord.ext.test import backend, factories

from bot import Answer, AskOptions, Citation, Conversation, Engine
from bot.frontends.discord_bot import FRIENDLY_ERROR, NewsBot, Newsroom, RateLimiter, run_discord
from bot.frontends.discord_render import (
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELD_NAME,
    FIELD_VALUE,
    MESSAGE_CHARS,
    QUOTE_CHARS,
    ZWSP,
    answer_markdown,
    defuse,
    pack_fields,
    reply_parts,
    source_embeds,
    source_field,
    split_message,
    strip_mention,
    truncate,
)
from index import parse_day
from index.errors import ConfigError, NewsbotError, QuestionError
from index.ingest import ingest
from index.settings import Settings

RT_ARTICLE = "seeds/001_0fa0538ff5d991b7.txt"
PING = re.compile(r"@(everyone|here)|<@[!&]?\d", re.IGNORECASE)  # mention syntax that pings


def citation(n: int, **kw: Any) -> Citation:
    fields: dict[str, Any] = dict(
        id=n,
        outlet="RT",
        publisher=None,
        title="Kiev should explain Russian 'incremental gains' in Donbass",
        published="2024-08-27",
        url="https://www.rt.com/news/1",
        source="seeds/a.txt",
        quote="Pat Ryder was asked what advice officials were giving.",
        start=0,
        end=10,
        score=0.9,
    )
    return Citation(**(fields | kw))


def assert_embed_limits(embed: discord.Embed) -> None:
    assert len(embed) <= EMBED_TOTAL
    assert len(embed.title or "") <= EMBED_TITLE
    assert len(embed.description or "") <= EMBED_DESCRIPTION
    assert len(embed.fields) <= EMBED_FIELDS
    for f in embed.fields:
        assert 0 < len(f.name or "") <= FIELD_NAME and 0 < len(f.value or "") <= FIELD_VALUE


def pings_nobody(allowed_mentions: dict[str, Any]) -> bool:
    return (
        allowed_mentions.get("parse") == []
        and not allowed_mentions.get("users")
        and not allowed_mentions.get("roles")
        and not allowed_mentions.get("replied_user")
    )


# Pure helpers.


def test_defuse_makes_every_kind_of_mention_inert() -> None:
    text = "Hi @everyone and @here, @Everyone; <@123456789012345678> <@!1> <@&42> mail a@b.c"
    safe = defuse(text)
    assert not PING.search(safe)
    assert safe.replace(ZWSP, "") == text  # reads the same
    assert defuse(safe) == safe
    assert "a@b.c" in safe


def test_truncate() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 50, 10)
    assert len(cut) == 10 and cut.endswith("…")


def test_split_message_cuts_after_sentences() -> None:
    sentences = [f"Sentence number {i} says Mr. Smith met {i * 7} officials." for i in range(120)]
    text = " ".join(sentences)
    parts = split_message(text)
    assert len(parts) > 1 and all(len(p) <= MESSAGE_CHARS for p in parts)
    assert " ".join(parts) == text  # nothing lost or reordered
    assert all(p.endswith("officials.") for p in parts)  # whole sentences ("Mr." is no end)
    assert split_message("One. Two.") == ["One. Two."]


def test_split_message_without_sentence_ends() -> None:
    words = " ".join(["word"] * 1000)
    assert all(len(p) <= 100 for p in split_message(words, 100))
    blob = "x" * 4500
    assert split_message(blob) == ["x" * 2000, "x" * 2000, "x" * 500]


def test_source_field_links_the_title_and_keeps_limits() -> None:
    name, value = source_field(citation(3))
    assert name == "[3] RT · 2024-08-27"
    assert value.startswith(
        "[Kiev should explain Russian 'incremental gains' in Donbass](https://www.rt.com/news/1)"
    )
    assert "\n> Pat Ryder was asked" in value

    name, value = source_field(
        citation(
            1,
            outlet="@everyone News " * 30,
            publisher="other.example",
            title="A [bracketed] @here title",
            url=None,
            quote="<@123456789012345678> said " + "so " * 2000,
        )
    )
    assert len(name) <= FIELD_NAME and len(value) <= FIELD_VALUE
    assert not PING.search(name + value)
    assert "](" not in value  # no URL, no link
    quote = value.split("\n> ", 1)[1]
    assert len(quote) <= QUOTE_CHARS


def test_source_embeds_split_to_respect_embed_limits() -> None:
    cites = [
        citation(
            n,
            title=f"Title {n} " + "t" * 300,
            quote="q" * 3000,
            url="https://example.com/" + "u" * 400,
        )
        for n in range(1, 41)
    ]
    embeds = source_embeds(cites)
    assert len(embeds) > 1
    for e in embeds:
        assert_embed_limits(e)
    names = [f.name or "" for e in embeds for f in e.fields]
    assert [n.split("]")[0] for n in names] == [f"[{n}" for n in range(1, 41)]


def test_pack_fields_by_count_and_size() -> None:
    fields = [("n", "v" * 9)] * 30  # 10 characters each
    assert [len(g) for g in pack_fields(fields, budget=10_000)] == [25, 5]
    assert [len(g) for g in pack_fields(fields, budget=100)] == [10, 10, 10]


def test_reply_parts_puts_sources_on_the_last_piece() -> None:
    long = " ".join(f"RT [1] reports: “Sentence {i} is here.”" for i in range(150))
    answer = Answer("q", long, False, "extractive", [citation(1)])
    parts = reply_parts(answer)
    assert len(parts) >= 3
    assert all(e is None for _, e in parts[:-1])
    content, embed = parts[-1]
    assert content and embed is not None and embed.title == "Sources"
    assert all(len(c or "") <= MESSAGE_CHARS for c, _ in parts)


def test_answer_markdown_shows_the_search_and_notices() -> None:
    a = Answer(
        "What about it?",
        "It [1].",
        False,
        "extractive",
        notices=["Old @here news."],
        standalone_question="What about it? (Pokrovsk)",
    )
    text = answer_markdown(a)
    assert text.splitlines() == [
        "-# searched for: What about it? (Pokrovsk)",
        f"-# note: Old @{ZWSP}here news.",
        "It [1].",
    ]


def test_rate_limiter_sliding_window() -> None:
    now = [100.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit(1) == 0
    now[0] = 120
    assert limiter.hit(1) == 0
    now[0] = 130
    assert limiter.hit(1) == pytest.approx(30)  # the first hit leaves the window at 160
    assert limiter.hit(2) == 0  # per user
    now[0] = 160.5
    assert limiter.hit(1) == 0  # one slot free again; the refused hit did not count
    assert limiter.hit(1) == pytest.approx(19.5)  # the hit at 120 leaves at 180
    assert "wait 20 s" in limiter.message(19.5)
    assert RateLimiter(0, 60).hit(1) == 0  # 0 turns it off


def test_strip_mention_and_parse_day() -> None:
    assert strip_mention("<@123> who is  <@!123> Pat?", 123) == "who is Pat?"
    assert strip_mention("<@999> hi", 123) == "<@999> hi"
    assert parse_day("2024/06/01", "since").isoformat() == "2024-06-01"  # type: ignore[union-attr]
    assert parse_day("", "since") is None
    with pytest.raises(QuestionError, match="since: 'June' is not a date"):
        parse_day("June", "since")


# The bot on dpytest.


@pytest.fixture
def payloads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The body of every channel message the bot sends, as Discord would receive it."""
    bodies: list[dict[str, Any]] = []
    real = discord.http.handle_message_parameters

    def spy(*args: Any, **kwargs: Any) -> Any:
        params = real(*args, **kwargs)
        bodies.append(params.payload or {})
        return params

    monkeypatch.setattr(discord.abc, "handle_message_parameters", spy)
    return bodies


def threads(bot: NewsBot) -> list[discord.Thread]:
    """Give dpytest the "start a thread from a message" endpoint; returns the threads made."""
    state = backend.get_state()
    made: list[discord.Thread] = []

    async def start_thread_with_message(
        channel_id: int, message_id: int, *, name: str, auto_archive_duration: int, **_: Any
    ) -> dict[str, Any]:
        channel = bot.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        data: dict[str, Any] = {
            "id": str(message_id),  # a thread started from a message has the message's id
            "guild_id": str(channel.guild.id),
            "parent_id": str(channel_id),
            "owner_id": str(bot.user and bot.user.id),
            "name": name,
            "type": discord.ChannelType.public_thread.value,
            "message_count": 0,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": auto_archive_duration,
                "archive_timestamp": discord.utils.utcnow().isoformat(),
            },
            "newly_created": True,
        }
        state.parse_thread_create(data)  # type: ignore[arg-type]  # the gateway's THREAD_CREATE
        thread = channel.guild.get_thread(message_id)
        assert thread is not None
        made.append(thread)
        return data

    state.http.start_thread_with_message = start_thread_with_message  # type: ignore[assignment]
    return made


async def post(channel: discord.Thread, member: discord.Member, content: str) -> None:
    """A member's message in a thread (dpytest's ``message()`` handles channels only)."""
    data = factories.make_message_dict(  # type: ignore[call-overload]
        channel,
        member,
        content=content,
        guild_id=channel.guild.id,
        mentions=backend.find_user_mentions(content, channel.guild),
    )
    backend.get_state().parse_message_create(data)
    await dpytest.run_all_events()


def sent() -> list[discord.Message]:
    """The messages the bot sent since the last call."""
    out = []
    while not dpytest_runner.sent_queue.empty():
        out.append(dpytest.get_message())
    return out


MakeBot = Callable[..., Awaitable[NewsBot]]


@pytest_asyncio.fixture
async def make_bot(engine: Engine, seed_settings: Settings) -> AsyncIterator[MakeBot]:
    """A NewsBot on dpytest: its cog added by ``setup_hook``, no command sync over the network."""
    synced: list[Any] = []

    async def make(answerer: Any = engine, **settings: Any) -> NewsBot:
        bot = NewsBot(engine=answerer, settings=seed_settings.model_copy(update=settings))
        # dpytest finds mentioned users in the member cache, which discord.py fills only
        # with the members intent. The bot does not need it; the tests do.
        bot._connection._intents.members = True
        bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
        await bot._async_setup_hook()  # what login() does first: the loop
        dpytest.configure(bot, members=4)
        bot._connection.loop = asyncio.get_running_loop()  # dpytest's new state lacks it (typing)

        async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
            synced.append(guild)
            return []

        bot.tree.sync = sync  # type: ignore[method-assign]
        await bot.setup_hook()
        return bot

    yield make
    await dpytest.empty_queue()


def cog_of(bot: NewsBot) -> Newsroom:
    cog = bot.get_cog("Newsroom")
    assert isinstance(cog, Newsroom)
    return cog


def member(n: int = 0) -> discord.Member:
    return dpytest.get_config().members[n]


def text_channel() -> discord.TextChannel:
    channel = dpytest.get_config().channels[0]
    assert isinstance(channel, discord.TextChannel)
    return channel


def mention(bot: NewsBot, text: str) -> str:
    assert bot.user is not None
    return f"<@{bot.user.id}> {text}"


@pytest.mark.asyncio
async def test_mention_is_answered_in_a_thread_and_follow_ups_keep_context(
    make_bot: MakeBot, payloads: list[dict[str, Any]]
) -> None:
    bot = await make_bot()
    made = threads(bot)
    await dpytest.message(
        mention(bot, "What is happening around Pokrovsk?"), text_channel(), member()
    )
    assert [t.name for t in made] == ["What is happening around Pokrovsk?"]
    thread = made[0]
    first = sent()
    assert first and all(m.channel.id == thread.id for m in first)  # nothing in the channel
    assert "Pokrovsk" in first[0].content and "[1]" in first[0].content
    sources = first[-1].embeds[0]
    assert sources.title == "Sources" and sources.fields[0].name.startswith("[1] ")  # type: ignore[union-attr]

    # A follow-up in the thread, without a mention, searches with the earlier topic.
    await post(thread, member(), "What did RT say about it?")
    follow = sent()
    assert follow and all(m.channel.id == thread.id for m in follow)
    text = follow[0].content
    # written as a question (issue 15), not with key words appended
    assert text.startswith(
        "-# searched for: What did RT say about what is happening around Pokrovsk?"
    )
    chat = cog_of(bot).chats[thread.id].conversation
    assert [t.question for t in chat.turns] == [
        "What is happening around Pokrovsk?",
        "What did RT say about it?",
    ]
    assert {c.source for c in chat.turns[1].answer.citations} == {RT_ARTICLE}
    fields = [f.name or "" for m in follow for e in m.embeds for f in e.fields]
    assert fields and all(" RT " in f"{n} " for n in fields)
    assert payloads and all(pings_nobody(p["allowed_mentions"]) for p in payloads)

    # issue 15: a follow-up about that answer is answered from its sources, not searched
    await post(thread, member(), "Which outlet reported that?")
    (which, *_) = sent()
    assert "searched for" not in which.content
    assert "Answered from the sources of the previous answer." in which.content
    assert "RT reported it" in which.content
    assert [c.source for c in chat.turns[2].answer.citations] == [
        c.source for c in chat.turns[1].answer.citations
    ]


@pytest.mark.asyncio
async def test_messages_without_a_mention_outside_its_threads_are_ignored(
    make_bot: MakeBot,
) -> None:
    bot = await make_bot()
    made = threads(bot)
    await dpytest.message("What is happening around Pokrovsk?", text_channel(), member())
    assert not made and not sent()
    await dpytest.message(mention(bot, ""), text_channel(), member())  # a bare mention
    (hint,) = sent()
    assert hint.content.startswith("Ask me a question after the mention") and not made


@pytest.mark.asyncio
async def test_everyone_in_a_question_pings_nobody(
    make_bot: MakeBot, payloads: list[dict[str, Any]]
) -> None:
    bot = await make_bot()
    made = threads(bot)
    someone = member(1)
    q = f"@everyone @here <@{someone.id}> who is Pat Ryder?"
    await dpytest.message(mention(bot, q), text_channel(), member())
    assert not PING.search(made[0].name) and "Pat Ryder" in made[0].name
    assert sent() and payloads
    assert all(pings_nobody(p["allowed_mentions"]) for p in payloads)


@pytest.mark.asyncio
async def test_everyone_in_an_indexed_article_pings_nobody(
    make_bot: MakeBot, payloads: list[dict[str, Any]], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alert.txt").write_text(
        "Moderators of the Springfield forum posted an @everyone alert on Tuesday. "
        "The @everyone alert said the Springfield bridge vote was moved to Friday. "
        "<@123456789012345678> and @here were named in the alert about the bridge vote.\n",
        encoding="utf-8",
    )
    (corpus / "manifest.toml").write_text(
        '["alert.txt"]\noutlet = "Springfield @here Gazette"\n'
        'title = "Bridge vote @everyone moved"\npublished = "2024-05-02"\n'
        'url = "https://example.com/bridge"\n',
        encoding="utf-8",
    )
    settings = make_settings(tmp_path / "index", corpus=corpus)
    ingest(settings)
    with Engine.open(settings) as small:
        bot = await make_bot(small)
        threads(bot)
        await dpytest.message(
            mention(bot, "When is the Springfield bridge vote?"), text_channel(), member()
        )
        messages = sent()
    assert "bridge vote was moved to Friday" in messages[0].content
    shown = " ".join(
        [m.content for m in messages]
        + [f"{f.name} {f.value}" for m in messages for e in m.embeds for f in e.fields]
    )
    assert "everyone" in shown and not PING.search(shown)
    assert all(pings_nobody(p["allowed_mentions"]) for p in payloads)


@pytest.mark.asyncio
async def test_per_user_rate_limit(make_bot: MakeBot) -> None:
    bot = await make_bot(discord_rate_limit=2, discord_rate_window=60)
    made = threads(bot)
    for _ in range(3):
        await dpytest.message(mention(bot, "Who is Pat Ryder?"), text_channel(), member(0))
    assert len(made) == 2
    polite = [m for m in sent() if m.channel.id == text_channel().id]
    assert len(polite) == 1 and "Please wait" in polite[0].content
    await dpytest.message(mention(bot, "Who is Pat Ryder?"), text_channel(), member(1))
    assert len(made) == 3  # another user is not limited


@pytest.mark.asyncio
async def test_twenty_questions_at_once_are_all_answered_without_blocking_the_loop(
    make_bot: MakeBot,
) -> None:
    bot = await make_bot(discord_rate_limit=5)
    made = threads(bot)
    questions = [
        "Who is Pat Ryder?",
        "What is happening around Pokrovsk?",
        "What did Kate Bedingfield say about Putin's advisers?",
        "What did the Pentagon say about Kharkiv?",
        "What did the Pentagon say about Donbass?",
    ]
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    for u in range(4):  # 4 users x 5 questions: at the rate limit, all allowed
        for q in questions:
            backend.make_message(mention(bot, q), member(u), text_channel())
    await dpytest.run_all_events()
    tick.cancel()
    assert len(made) == 20
    replies = sent()
    assert {m.channel.id for m in replies} == {t.id for t in made}  # each in its thread
    assert all(m.embeds[0].title == "Sources" for m in replies if m.embeds)
    assert sum(bool(m.embeds) for m in replies) == 20  # every one answered, with sources
    assert max(gaps) < 2.0  # the engine ran in worker threads, not on the loop


class FailingEngine:
    """Answers nothing: ``ask`` fails the way a broken store would."""

    def __init__(self, real: Engine) -> None:
        self.settings = real.settings

    def known_outlets(self) -> list[str]:
        return ["RT"]

    def conversation(self) -> Conversation:
        return Conversation(outlets=self.known_outlets())

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        raise RuntimeError("chroma exploded at /secret/path")


@pytest.mark.asyncio
async def test_engine_error_in_a_thread_is_a_friendly_message(
    make_bot: MakeBot, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot(FailingEngine(engine))
    made = threads(bot)
    with caplog.at_level(logging.ERROR, logger="newsbot.discord"):
        await dpytest.message(mention(bot, "Who is Pat Ryder?"), text_channel(), member())
    (reply,) = sent()
    assert reply.channel.id == made[0].id and reply.content == FRIENDLY_ERROR
    assert "secret" not in reply.content
    assert "chroma exploded at /secret/path" in caplog.text  # the details, in the log only
    assert any(r.exc_info for r in caplog.records)


class ScriptedEngine(FailingEngine):
    """Gives one prepared answer: for what the seed corpus is too small to produce."""

    def __init__(self, real: Engine, answer: Answer) -> None:
        super().__init__(real)
        self.answer = answer

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        return self.answer


@pytest.mark.asyncio
async def test_long_answer_is_split_into_messages(make_bot: MakeBot, engine: Engine) -> None:
    text = "\n".join(
        f"RT (2024-08-27) [{i % 3 + 1}] reports: “Sentence {i} about the Donbass offensive.”"
        for i in range(120)
    )
    cites = [citation(n) for n in (1, 2, 3)]
    bot = await make_bot(ScriptedEngine(engine, Answer("q", text, False, "extractive", cites)))
    threads(bot)
    await dpytest.message(mention(bot, "Tell me everything"), text_channel(), member())
    messages = sent()
    assert len(messages) == len(split_message(text)) >= 3
    assert all(len(m.content) <= MESSAGE_CHARS for m in messages)
    assert "\n".join(m.content for m in messages) == text
    assert all(m.content.endswith("offensive.”") for m in messages)  # whole sentences
    assert [bool(m.embeds) for m in messages] == [False] * (len(messages) - 1) + [True]


# Slash commands, through their callbacks with a real discord.Interaction.


class InteractionAPI(webhook_async.AsyncWebhookAdapter):
    """Discord's interaction endpoints: records each request, answers like Discord."""

    def __init__(self, bot: NewsBot) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.bot = bot
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    async def request(
        self,
        route: Any,
        session: Any,
        *,
        payload: dict[str, Any] | None = None,
        multipart: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        body = (
            payload
            if payload is not None
            else json.loads(multipart[0]["value"])
            if multipart
            else {}
        )
        self.requests.append((route.method, route.path, body))
        if route.path.endswith("/callback"):
            return {"interaction": {"id": str(route.webhook_id), "type": 2}}
        if route.method == "POST":  # a follow-up: Discord returns the message
            assert self.bot.user is not None
            return {
                "id": str(factories.make_id()),
                "channel_id": str(text_channel().id),
                "author": factories.dict_from_user(self.bot.user),  # type: ignore[arg-type]
                "content": body.get("content", ""),
                "timestamp": discord.utils.utcnow().isoformat(),
                "edited_timestamp": None,
                "tts": False,
                "mention_everyone": False,
                "mentions": [],
                "mention_roles": [],
                "attachments": [],
                "embeds": body.get("embeds", []),
                "pinned": False,
                "type": 0,
                "flags": body.get("flags", 0),
            }
        return None

    def callbacks(self) -> list[dict[str, Any]]:
        return [b for m, p, b in self.requests if p.endswith("/callback")]

    def followups(self) -> list[dict[str, Any]]:
        return [b for m, p, b in self.requests if m == "POST" and not p.endswith("/callback")]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[NewsBot], InteractionAPI]]:
    def install(bot: NewsBot) -> InteractionAPI:
        fake = InteractionAPI(bot)
        context: ContextVar[Any] = ContextVar("fake_interaction_api", default=fake)
        monkeypatch.setattr(webhook_async, "async_context", context)
        monkeypatch.setattr(discord.interactions, "async_context", context)
        return fake

    yield install


def slash(bot: NewsBot, command: str, user: discord.Member | None = None) -> discord.Interaction:
    """A real interaction, as the gateway would deliver it, for ``/command`` in the test channel."""
    assert bot.user is not None
    user = user or member()
    channel = text_channel()
    data: dict[str, Any] = {
        "id": str(factories.make_id()),
        "application_id": str(bot.user.id),
        "type": 2,
        "token": "interaction-token",
        "version": 1,
        "attachment_size_limit": 8_000_000,
        "guild_id": str(channel.guild.id),
        "channel": {"id": str(channel.id), "type": 0},
        "channel_id": str(channel.id),
        "member": {
            "user": factories.dict_from_user(user._user),
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "permissions": "0",
            "deaf": False,
            "mute": False,
            "flags": 0,
        },
        "data": {"id": "1", "name": command, "type": 1},
        "locale": "en-US",
    }
    return discord.Interaction(data=data, state=bot._connection)  # type: ignore[arg-type]


async def invoke(cog: Newsroom, command: Any, interaction: discord.Interaction, *args: Any) -> None:
    """What the command tree does once it has parsed the options."""
    await command.callback(cog, interaction, *args)


DEFERRED = discord.InteractionResponseType.deferred_channel_message.value
MESSAGE = discord.InteractionResponseType.channel_message.value
EPHEMERAL = discord.MessageFlags.ephemeral.flag


@pytest.mark.asyncio
async def test_ask_command_answers_with_a_sources_embed(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI], engine: Engine
) -> None:
    bot = await make_bot()
    fake = api(bot)
    cog = cog_of(bot)
    q = "What did Kate Bedingfield say about Putin's advisers?"
    await invoke(cog, cog.ask, slash(bot, "ask"), q)
    assert fake.callbacks() == [{"type": DEFERRED}]  # thinking..., at once
    (reply,) = fake.followups()
    expected = engine.ask(q)
    assert reply["content"] == answer_markdown(expected)
    embed = discord.Embed.from_dict(reply["embeds"][0])
    assert_embed_limits(embed)
    assert embed.title == "Sources" and len(embed.fields) == len(expected.citations)
    for f, c in zip(embed.fields, expected.citations, strict=True):
        assert f.name == f"[{c.id}] {c.outlet_label}" + (f" · {c.published}" if c.published else "")
        assert (f"]({c.url})" in (f.value or "")) == bool(c.url)
        assert " ".join(c.quote.split())[:40] in (f.value or "").replace("\\", "")
    assert pings_nobody(reply["allowed_mentions"])


@pytest.mark.asyncio
async def test_ask_command_filters_by_outlet_and_date(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI]
) -> None:
    bot = await make_bot()
    fake = api(bot)
    cog = cog_of(bot)
    await invoke(
        cog,
        cog.ask,
        slash(bot, "ask"),
        "What did the Pentagon say about Kharkiv?",
        "moscow times",
        "2024-01-01",
    )
    (reply,) = fake.followups()
    fields = discord.Embed.from_dict(reply["embeds"][0]).fields
    assert fields and all("The Moscow Times" in (f.name or "") for f in fields)
    assert all((f.name or "").split(" · ")[-1] >= "2024-01-01" for f in fields)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("   ",), "The question is empty"),
        (("x" * 2001,), "The question is 2,001 characters long"),
        (("Who?", None, "last week"), "since: 'last week' is not a date"),
        (("Who?", "Fox News"), "Unknown outlet 'Fox News'"),
    ],
)
@pytest.mark.asyncio
async def test_ask_command_bad_input_is_told_privately(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI], args: tuple[Any, ...], message: str
) -> None:
    bot = await make_bot()
    fake = api(bot)
    cog = cog_of(bot)
    await invoke(cog, cog.ask, slash(bot, "ask"), *args)
    (response,) = fake.callbacks()  # no defer: the answer is immediate and ephemeral
    assert response["type"] == MESSAGE
    assert response["data"]["flags"] == EPHEMERAL
    assert response["data"]["content"].startswith(message)
    assert not fake.followups()


@pytest.mark.asyncio
async def test_ask_command_rate_limit(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI]
) -> None:
    bot = await make_bot(discord_rate_limit=1)
    fake = api(bot)
    cog = cog_of(bot)
    await invoke(cog, cog.ask, slash(bot, "ask"), "Who is Pat Ryder?")
    await invoke(cog, cog.ask, slash(bot, "ask"), "Who is Pat Ryder?")
    first, second = fake.callbacks()
    assert first == {"type": DEFERRED}
    assert second["data"]["flags"] == EPHEMERAL and "Please wait" in second["data"]["content"]
    assert len(fake.followups()) == 1


@pytest.mark.asyncio
async def test_ask_command_engine_error(
    make_bot: MakeBot,
    api: Callable[[NewsBot], InteractionAPI],
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = await make_bot(FailingEngine(engine))
    fake = api(bot)
    cog = cog_of(bot)
    with caplog.at_level(logging.ERROR, logger="newsbot.discord"):
        await invoke(cog, cog.ask, slash(bot, "ask"), "Who is Pat Ryder?")
    # deferred publicly, so the "thinking" message is deleted before the private follow-up
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in fake.requests] == [
        ("POST", "callback"),
        ("DELETE", "@original"),
        ("POST", "{webhook_token}"),
    ]
    (reply,) = fake.followups()
    assert reply["content"] == FRIENDLY_ERROR and reply["flags"] == EPHEMERAL
    assert "chroma exploded" in caplog.text and caplog.records[0].exc_info


@pytest.mark.asyncio
async def test_unhandled_command_error_is_logged_and_told_privately(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI], caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()
    fake = api(bot)
    error = discord.app_commands.AppCommandError("bad option value")
    with caplog.at_level(logging.ERROR, logger="newsbot.discord"):
        await cog_of(bot).cog_app_command_error(slash(bot, "ask"), error)
    (response,) = fake.callbacks()
    assert response["data"]["content"] == FRIENDLY_ERROR
    assert response["data"]["flags"] == EPHEMERAL
    assert pings_nobody(response["data"]["allowed_mentions"])
    assert "/ask failed" in caplog.text and "bad option value" in caplog.text


@pytest.mark.asyncio
async def test_outlets_and_about_commands(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI], engine: Engine
) -> None:
    bot = await make_bot()
    fake = api(bot)
    cog = cog_of(bot)
    await invoke(cog, cog.outlets, slash(bot, "outlets"))
    await invoke(cog, cog.about, slash(bot, "about"))
    outlets, about = (discord.Embed.from_dict(r["embeds"][0]) for r in fake.followups())
    for name, n in engine.store.outlets().items():
        assert f"**{name}**: {n} article" in (outlets.description or "")
    text = about.description or ""
    assert f"{len(engine.store.articles())} news articles" in text
    assert "does not browse the web" in text and "exact quote" in text


@pytest.mark.asyncio
async def test_bot_setup(make_bot: MakeBot) -> None:
    bot = await make_bot(discord_guild_id=1234)
    assert bot.intents.message_content
    commands = {c.name: c for c in bot.tree.get_commands(guild=discord.Object(1234))}
    assert set(commands) == {"ask", "outlets", "about"}  # copied to the guild for a quick sync
    ask = commands["ask"].to_dict(bot.tree)
    assert ask["description"].startswith("Answer a question from the indexed news articles")
    assert [(o["name"], o["required"]) for o in ask["options"]] == [
        ("question", True),
        ("outlet", False),
        ("since", False),
        ("until", False),
    ]
    synced: list[Any] = []

    async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        synced.append(guild)
        return []

    bot.tree.sync = sync  # type: ignore[method-assign]
    await bot.sync_commands()
    bot.settings = bot.settings.model_copy(update={"discord_guild_id": None})
    await bot.sync_commands()
    assert [g.id if g else None for g in synced] == [1234, None]  # one guild, else global


def test_the_client_itself_pings_nobody(engine: Engine, seed_settings: Settings) -> None:
    bot = NewsBot(engine=engine, settings=seed_settings)
    assert bot.allowed_mentions is not None and pings_nobody(dict(bot.allowed_mentions.to_dict()))


# Start-up.


class ClosableEngine:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_missing_token_is_reported_before_the_index_is_opened(tmp_path: Path) -> None:
    def open_engine(settings: Settings) -> Engine:
        raise AssertionError("the engine must not be opened without a token")

    with pytest.raises(ConfigError, match="Set DISCORD_TOKEN"):
        run_discord(make_settings(tmp_path), open_engine=open_engine)
    with pytest.raises(ConfigError, match="Set DISCORD_TOKEN"):
        run_discord(make_settings(tmp_path, discord_token="  "), open_engine=open_engine)


def test_rejected_token_is_a_clear_message_and_never_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = "MTIz.not-a-real-token.abcdef"

    async def static_login(self: Any, token: str) -> Any:  # what Discord answers to a bad token
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(discord.http.HTTPClient, "static_login", static_login)
    opened = ClosableEngine()
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as err:
        run_discord(make_settings(tmp_path, discord_token=token), open_engine=lambda s: opened)  # type: ignore[arg-type,return-value]
    assert "rejected the bot token in DISCORD_TOKEN" in str(err.value)
    assert token not in str(err.value) and token not in caplog.text
    assert opened.closed


def test_unreachable_discord_is_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def static_login(self: Any, token: str) -> Any:
        raise aiohttp.ClientConnectionError("Cannot connect to host discord.com:443")

    monkeypatch.setattr(discord.http.HTTPClient, "static_login", static_login)
    opened = ClosableEngine()
    with pytest.raises(NewsbotError, match="Cannot reach Discord .*discord.com:443"):
        run_discord(make_settings(tmp_path, discord_token="x"), open_engine=lambda s: opened)  # type: ignore[arg-type,return-value]
    assert opened.closed


# Links from articles, and what notices reveal.

INJECTION_CORPUS = Path(__file__).parent / "injection"
# A link Discord would render: a masked link, or a bare http(s) URL (auto-linked).
MASKED = re.compile(r"\[(?:\\.|[^\\\]\n])*\]\(<?https?://[^)\s]+\)")
BARE = re.compile(r"https?://\S+")
PROVENANCE = "https://portmere-post.example/festival"


def live_links(text: str) -> list[str]:
    """Every link Discord would make of ``text``: masked ones, then bare URLs."""
    masked = MASKED.findall(text)
    return masked + BARE.findall(MASKED.sub(" ", text))


PHISH_TEXT = (
    "Portmere Post [1] reports: “Buyers should use [the official ticket page]"
    "(https://phish.example/tickets) for refunds, and [2] not https://phish.example/resale "
    "or <https://phish.example/z>.”"
)


def test_no_link_from_an_article_survives_in_the_text_or_the_sources() -> None:
    cite = citation(
        1,
        outlet="Portmere [Post](https://phish.example/o)",
        title="Festival [tickets](https://phish.example/t) at https://phish.example/u",
        quote="Use [the official ticket page](https://phish.example/tickets) or https://phish.example/resale.",
        url=PROVENANCE,
    )
    text = answer_markdown(Answer("q", PHISH_TEXT, False, "extractive", [cite]))
    assert live_links(text) == []
    assert "the official ticket page" in text and "phish.example/resale" in text  # still shown
    name, value = source_field(cite)
    assert live_links(name) == []
    # the source link built from provenance is the only link left
    assert len(live_links(value)) == 1 and live_links(value)[0].endswith(f"({PROVENANCE})")


def test_notices_shown_on_discord_do_not_name_the_llm_endpoint() -> None:
    notices = [
        "The LLM endpoint http://10.1.2.3:8080/v1 did not answer within 5 s. "
        "Falling back to the extractive answer.",
        "Cannot reach the LLM endpoint http://llm.internal:8000/v1 (Cannot connect to host "
        "llm.internal:8000 ssl:default [Connect call failed ('10.1.2.3', 8000)]). "
        "Falling back to the extractive answer.",
    ]
    text = answer_markdown(Answer("q", "It [1].", False, "extractive", notices=notices))
    for secret in ("10.1.2.3", "llm.internal", "8080", "8000", "http"):
        assert secret not in text
    notes = [ln for ln in text.splitlines() if ln.startswith("-# note:")]
    assert len(notes) == 2 and all("Falling back to the extractive answer." in n for n in notes)
    assert "did not answer within 5 s" in notes[0] and "Cannot reach the LLM endpoint" in notes[1]


@pytest.fixture(scope="module")
def link_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("links-index"), INJECTION_CORPUS)
    ingest(settings)
    return settings


def everything_shown(messages: list[discord.Message]) -> list[str]:
    return [m.content for m in messages] + [
        f"{e.title or ''} {e.description or ''} {f.name} {f.value}"
        for m in messages
        for e in m.embeds
        for f in e.fields
    ]


FESTIVAL_Q = "Which resale sites did visitors of the Portmere harbour festival complain about?"


@pytest.mark.asyncio
async def test_phishing_links_in_an_indexed_article_stay_text_in_threads(
    make_bot: MakeBot, link_settings: Settings
) -> None:
    with Engine.open(link_settings) as small:
        expected = small.ask(FESTIVAL_Q)
        assert any("phish.example" in c.quote for c in expected.citations)  # the test bites
        bot = await make_bot(small)
        threads(bot)
        await dpytest.message(mention(bot, FESTIVAL_Q), text_channel(), member())
        messages = sent()
    shown = everything_shown(messages)
    assert "phish.example" in " ".join(shown)
    links = [link for text in shown for link in live_links(text)]
    assert links and all(link.endswith(f"({PROVENANCE})") for link in links), links


@pytest.mark.asyncio
async def test_phishing_links_stay_text_in_slash_command_replies(
    make_bot: MakeBot, api: Callable[[NewsBot], InteractionAPI], link_settings: Settings
) -> None:
    with Engine.open(link_settings) as small:
        bot = await make_bot(small)
        fake = api(bot)
        cog = cog_of(bot)
        await invoke(cog, cog.ask, slash(bot, "ask"), FESTIVAL_Q)
    (reply,) = fake.followups()
    embed = discord.Embed.from_dict(reply["embeds"][0])
    shown = [reply["content"]] + [f"{f.name} {f.value}" for f in embed.fields]
    assert "phish.example" in " ".join(shown)
    links = [link for text in shown for link in live_links(text)]
    assert links and all(link.endswith(f"({PROVENANCE})") for link in links), links


@pytest.mark.asyncio
async def test_an_llm_failure_notice_on_discord_hides_the_endpoint(
    make_bot: MakeBot, engine: Engine, fake: Any
) -> None:
    url = fake.url("500")
    s = engine.settings.model_copy(
        update={"openai_base_url": url, "llm_model": "fake", "llm_max_retries": 0}
    )
    eng = Engine(s, engine.store, engine.embedder)
    assert any(url in n for n in eng.ask("Who is Pat Ryder?").notices)  # the operator's detail
    bot = await make_bot(eng)
    threads(bot)
    await dpytest.message(mention(bot, "Who is Pat Ryder?"), text_channel(), member())
    messages = sent()
    text = " ".join(everything_shown(messages))
    assert "Falling back to the extractive answer." in text and "HTTP 500" in text
    host = url.split("//")[1].split("/")[0]
    assert url not in text and host not in text and "127.0.0.1" not in text

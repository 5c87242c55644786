"""The Discord front-end: ``/ask``, ``/outlets``, ``/about``, and @mentions answered in threads.

Shaped like discord.py's ``advanced_startup`` example: ``run_discord`` opens the
engine and hands it, ready, to ``NewsBot``; the commands live in one cog. The
engine runs in a worker thread (``asyncio.to_thread``) so the event loop keeps
its gateway heartbeat while the index is searched.

Everything the bot shows is rendered by ``discord_render.py``: no pings, no
links but the sources' own, no internal address in a notice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import Answer, AskOptions, Conversation, Engine, check_question
from index import ConfigError, Filters, NewsbotError, QuestionError, Settings, parse_day

from .discord_render import (
    EMBED_DESCRIPTION,
    MESSAGE_CHARS,
    about_text,
    defuse,
    reply_parts,
    shown,
    strip_mention,
    thread_name,
    truncate,
)

if TYPE_CHECKING:
    from discord.abc import MessageableChannel

log = logging.getLogger("newsbot.discord")

NO_PINGS = discord.AllowedMentions.none()
MAX_CHATS = 1000  # threads whose conversation is remembered (oldest forgotten first)

FRIENDLY_ERROR = (
    "Sorry, something went wrong while answering. It has been logged; please try again later."
)
HOW_TO_ASK = "Ask me a question after the mention, e.g. `@newsbot Who is Pat Ryder?`"


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
                outlet=self.engine.resolve_outlet(outlet) if outlet else None,
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
        counts = await asyncio.to_thread(self.engine.outlets)
        lines = [f"**{shown(o)}**: {n} article{'' if n == 1 else 's'}" for o, n in counts.items()]
        text = truncate("\n".join(lines) or "The index is empty.", EMBED_DESCRIPTION)
        embed = discord.Embed(title="Indexed outlets", description=text)
        await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS)

    @app_commands.command()
    async def about(self, interaction: discord.Interaction) -> None:
        """What the corpus is, and how answers are sourced."""
        await interaction.response.defer(thinking=True)
        articles = await asyncio.to_thread(self.engine.articles)
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
        opts = AskOptions(standalone=standalone, previous=conversation.last_answer)
        return standalone, self.engine.ask(question, opts)

    def chat(self, channel_id: int) -> Chat:
        chat = self.chats.pop(channel_id, None) or Chat(self.engine.conversation())
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

"""Pure builders: jobs and rules rendered as Discord embeds and link buttons, within the limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import discord

from bot.i18n import LANGUAGE_NAMES, _, duration, listed, ngettext, number
from bot.jobs import Job, JobState, Stem
from bot.rules import GuildRules, Period, timestamp
from cogs.stems._words import credits_line, next_step, reason, state_word

if TYPE_CHECKING:
    from bot.bot import StemBot

EMBED_TOTAL = 6000
DESCRIPTION_MAX = 4096
TITLE_MAX = 256
BUTTON_URL_MAX = 512
LINK_BUTTONS_MAX = 20  # 4 rows of 5; the last row keeps room for "Refresh links"
CONTENT_MAX = 2000
URL_SAFE = "/:?#[]@!$&'*+,;=%~-._"  # kept as they are; '%' so escapes are not escaped twice

COLOURS = {
    JobState.SUBMITTING: discord.Colour.light_grey(),
    JobState.RUNNING: discord.Colour.blurple(),
    JobState.SUCCEEDED: discord.Colour.green(),
    JobState.FAILED: discord.Colour.red(),
    JobState.TIMED_OUT: discord.Colour.orange(),
    JobState.CANCELLED: discord.Colour.dark_grey(),
    JobState.INTERRUPTED: discord.Colour.orange(),
}

def safe(text: str | None, limit: int = 100) -> str:
    """User- or API-supplied text made inert: no markdown, no mentions, bounded length."""
    cleaned = discord.utils.escape_mentions(discord.utils.escape_markdown(text or ""))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def web_url(url: str, *, markdown: bool = False) -> str | None:
    """The URL percent-encoded (spaces, unicode; parentheses too inside a markdown link), or
    None when it is not an http(s) link Discord could open."""
    encoded = quote(url.strip(), safe=URL_SAFE if markdown else URL_SAFE + "()")
    parts = urlsplit(encoded)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return encoded


def links_expire_at(job: Job, bot: StemBot) -> float:
    """When a finished job's links expire: the result's lifetime after it finished. (Every
    finished job has its time; without one, the lifetime counts from now.)"""
    finished = job.finished_at.timestamp() if job.finished_at else bot.clock()
    return finished + bot.settings.result_ttl_s


def title_of(job: Job) -> str:
    return safe(job.song_title, 80) or f"`{job.song_id}`"


def stem_word(stem: Stem, limit: int) -> str:
    """A stem's name in the reader's language when it is a known one (else as the API named it)."""
    return safe(_(stem.label), limit)


def mentions(user_ids: Iterable[int | None]) -> str:
    return " ".join(f"<@{u}>" for u in dict.fromkeys(user_ids) if u is not None)


def allowed(user_ids: Iterable[int | None]) -> discord.AllowedMentions:
    """Only these users may be pinged: never @everyone, @here or roles."""
    users = [discord.Object(id=u) for u in dict.fromkeys(user_ids) if u is not None]
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def status_embed(job: Job, note: str | None = None) -> discord.Embed:
    """A job as members see it: song, mode, state, time; once ended, what happened, whether
    credits were spent and the next step (like a result)."""
    embed = discord.Embed(title=_("Stems: {title}", title=title_of(job))[:TITLE_MAX],
                          colour=COLOURS[job.state])
    embed.add_field(name=_("Job"), value=f"`#{job.id}`")
    embed.add_field(name=_("Mode"), value=job.mode.label)
    embed.add_field(name=_("State"), value=state_word(job))
    started = job.submitted_at or job.created_at
    if job.is_open:
        embed.add_field(name=_("Started"), value=timestamp(started.timestamp()))
        embed.description = note
        return embed
    if job.finished_at is not None:
        embed.add_field(name=_("Finished"), value=timestamp(job.finished_at.timestamp()))
    if job.state != JobState.SUCCEEDED:
        embed.add_field(name=_("What happened"), value=reason(job), inline=False)
        embed.add_field(name=_("Credits"), value=credits_line(job), inline=False)
        embed.add_field(name=_("Next step"), value=next_step(job), inline=False)
    embed.description = note
    return embed


def head_line(job: Job) -> str:
    """Mode, job number and run time: one sentence per case, never glued from pieces."""
    if job.duration_s is None:
        return _("{mode} · job `#{job}`", mode=job.mode.label, job=job.id)
    return _("{mode} · job `#{job}` · took {duration}", mode=job.mode.label, job=job.id,
             duration=duration(job.duration_s))


def stem_lines(stems: Sequence[Stem], budget: int) -> list[str]:
    """One `**Label**: [download](url)` line per stem, in order, as many as fit `budget`
    characters; a stem whose link does not fit says so (Refresh links shows it again)."""
    lines, used = [], 0
    for stem in stems:
        line = stem_link(stem)
        if used + len(line) + 1 > budget:
            line = _("**{stem}**: link too long to show here", stem=stem_word(stem, 60))
        used += len(line) + 1
        lines.append(line)
    return lines


def stem_link(stem: Stem) -> str:
    """`**Label**: [download](url)`; a URL that is no web link is shown as inert text."""
    url = web_url(stem.url, markdown=True)
    if url is None:
        return f"**{stem_word(stem, 60)}**: {safe(stem.url, 300)}"
    return _("**{stem}**: [download]({url})", stem=stem_word(stem, 60), url=url)


def result_text(job: Job, head: str, expires_at: float | None) -> str:
    """A result as plain message text, links inline: for when embeds and buttons are refused."""
    lines = [head, f"**{title_of(job)}** · {head_line(job)}"]
    if expires_at is not None:
        lines.append(_("Links expire {when}; use `/stems status` after that.",
                       when=timestamp(expires_at)))
    budget = CONTENT_MAX - sum(len(x) + 1 for x in lines)
    return "\n".join([*lines, *stem_lines(job.stems, budget)])[:CONTENT_MAX]


def result_embed(
    job: Job, expires_at: float | None, *, extra: str | None = None, buttons: bool = True
) -> discord.Embed:
    """A finished job: its stems' names (one link button each), or, without buttons, the
    links inline. Stems that get no button are linked in the text either way."""
    embed = discord.Embed(title=_("Stems: {title}", title=title_of(job))[:TITLE_MAX],
                          colour=COLOURS[job.state])
    head = [head_line(job), *([extra] if extra else [])]
    if expires_at is not None:
        head.append(_("Links expire {when}; use **Refresh links** after that.",
                      when=timestamp(expires_at)))
    with_button = buttoned(job.stems) if buttons else []
    if with_button:
        names = listed(f"**{stem_word(s, 60)}**" for s in job.stems if s in with_button)
        head.append(_("Tap a button below to download: {stems}.", stems=names))
    budget = min(DESCRIPTION_MAX, EMBED_TOTAL - len(embed.title or "") - 200) - sum(
        len(h) + 1 for h in head
    )
    rest = [s for s in job.stems if s not in with_button]
    embed.description = "\n".join([*head, "", *stem_lines(rest, budget)]).strip()
    return embed


def button_url(stem: Stem) -> str | None:
    """The URL for a link button: a web link, percent-encoded, ≤ 512 characters; else None."""
    url = web_url(stem.url)
    return url if url is not None and len(url) <= BUTTON_URL_MAX else None


def buttoned(stems: Sequence[Stem]) -> list[Stem]:
    """The stems that get a link button: URLs Discord accepts, at most 20."""
    return [s for s in stems if button_url(s) is not None][:LINK_BUTTONS_MAX]


def link_buttons(stems: Sequence[Stem]) -> list[discord.ui.Button[discord.ui.View]]:
    """A link button per stem whose URL Discord accepts (see `buttoned`)."""
    return [
        discord.ui.Button(label=stem_word(s, 80), url=button_url(s)) for s in buttoned(stems)
    ]


def rules_embed(rules: GuildRules, spent: float) -> discord.Embed:
    roles = listed(f"<@&{r}>" for r in rules.allowed_role_ids) or _("everyone")
    channel = f"<#{rules.results_channel_id}>" if rules.results_channel_id else _("where asked")
    embed = discord.Embed(title=_("Stem settings"), colour=discord.Colour.blurple())
    yes, no = _("yes"), _("no")
    for name, value in (
        (_("Who may ask for stems"), roles),
        (_("Results channel"), channel),
        (_("Daily limit"), daily_text(rules)),
        (_("Server budget"), budget_text(rules, spent)),
        (_("Allowed modes"), listed(m.label for m in rules.allowed_modes) or _("none")),
        (_("Confirm the full split"), yes if rules.confirm_full_split else no),
        (_("DM when the channel fails"), yes if rules.dm_fallback else no),
        (_("Open jobs per person"), number(rules.max_open_per_user)),
        (_("Cooldown"), duration(rules.cooldown_s) if rules.cooldown_s else _("none")),
        (_("Language"), LANGUAGE_NAMES.get(rules.language or "", _("the server's language"))),
    ):
        embed.add_field(name=name, value=value)
    return embed


def daily_text(rules: GuildRules) -> str:
    if not rules.daily_user_limit:
        return _("no limit")
    return ngettext("{n} paid job per person", "{n} paid jobs per person", rules.daily_user_limit)


def budget_text(rules: GuildRules, spent: float) -> str:
    if rules.budget_credits is None:
        return _("no limit")
    per = _("per day") if rules.budget_period == Period.DAY else _("per month")
    return _("{budget} credits {per} ({spent} spent so far)",
             budget=number(rules.budget_credits), per=per, spent=number(spent))


def job_line(job: Job) -> str:
    when = timestamp(job.created_at.timestamp())
    return f"`#{job.id}` {state_word(job)} · {title_of(job)} · {job.mode.label} · {when}"

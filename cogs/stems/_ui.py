"""Pure builders: jobs and rules rendered as Discord embeds and link buttons, within the limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import discord

from bot.jobs import Job, JobState, Stem
from bot.rules import GuildRules, timestamp

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

STATE_WORDS = {
    JobState.SUBMITTING: "Submitting…",
    JobState.RUNNING: "Separating…",
    JobState.SUCCEEDED: "Done",
    JobState.FAILED: "Failed",
    JobState.TIMED_OUT: "Timed out",
    JobState.CANCELLED: "Cancelled",
    JobState.INTERRUPTED: "Interrupted",
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


def mentions(user_ids: Iterable[int | None]) -> str:
    return " ".join(f"<@{u}>" for u in dict.fromkeys(user_ids) if u is not None)


def allowed(user_ids: Iterable[int | None]) -> discord.AllowedMentions:
    """Only these users may be pinged: never @everyone, @here or roles."""
    users = [discord.Object(id=u) for u in dict.fromkeys(user_ids) if u is not None]
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def took(job: Job) -> str:
    seconds = job.duration_s
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def status_embed(job: Job, note: str | None = None) -> discord.Embed:
    """The live status of one job: id, song, mode, state, elapsed time."""
    embed = discord.Embed(title=f"Stems: {title_of(job)}"[:TITLE_MAX], colour=COLOURS[job.state])
    embed.add_field(name="Job", value=f"`#{job.id}`")
    embed.add_field(name="Mode", value=job.mode.label)
    embed.add_field(name="State", value=STATE_WORDS[job.state])
    embed.add_field(name="Song", value=f"`{job.song_id}`", inline=False)
    started = job.submitted_at or job.created_at
    if job.is_open:
        embed.add_field(name="Started", value=timestamp(started.timestamp()))
    elif job.finished_at is not None:
        embed.add_field(name="Finished", value=timestamp(job.finished_at.timestamp()))
    if job.error and not job.is_open:
        embed.add_field(name="Why", value=safe(job.error, 1000), inline=False)
    if note:
        embed.description = note
    return embed


def stem_lines(stems: Sequence[Stem], budget: int) -> list[str]:
    """One `**Label**: [download](url)` line per stem, as many as fit `budget` characters.

    Stems without a link button get the room first: for them the line is the only way in.
    """
    has_button = buttoned(stems)
    with_button = [stem in has_button for stem in stems]
    lines = [
        f"**{safe(stem.label, 60)}**: "
        + ("use its button below" if button else "link too long for Discord")
        for stem, button in zip(stems, with_button, strict=True)
    ]
    used = sum(len(line) + 1 for line in lines)
    for index in sorted(range(len(stems)), key=lambda i: with_button[i]):  # buttonless first
        link = stem_link(stems[index])
        if used + len(link) - len(lines[index]) <= budget:
            used += len(link) - len(lines[index])
            lines[index] = link
    return lines


def stem_link(stem: Stem) -> str:
    """`**Label**: [download](url)`; a URL that is no web link is shown as inert text."""
    url = web_url(stem.url, markdown=True)
    target = f"[download]({url})" if url else safe(stem.url, 300)
    return f"**{safe(stem.label, 60)}**: {target}"


def result_text(job: Job, head: str, expires_at: float | None) -> str:
    """A result as plain message text, links inline: for when embeds and buttons are refused."""
    lines = [head, f"**{title_of(job)}** · {job.mode.label} · job `#{job.id}`"]
    if expires_at is not None:
        lines.append(f"Links expire {timestamp(expires_at)}; use `/stems status` after that.")
    for stem in job.stems:
        line = stem_link(stem)
        if sum(len(x) + 1 for x in lines) + len(line) > CONTENT_MAX:
            line = f"**{safe(stem.label, 60)}**: link too long for a message"
        if sum(len(x) + 1 for x in lines) + len(line) <= CONTENT_MAX:
            lines.append(line)
    return "\n".join(lines)


def result_embed(job: Job, expires_at: float | None, *, extra: str | None = None) -> discord.Embed:
    """A finished job's stems as named links, with expiry, id and run time."""
    embed = discord.Embed(title=f"Stems: {title_of(job)}"[:TITLE_MAX], colour=COLOURS[job.state])
    head = [f"{job.mode.label} · job `#{job.id}`" + (f" · took {took(job)}" if took(job) else "")]
    if extra:
        head.append(extra)
    if expires_at is not None:
        head.append(f"Links expire {timestamp(expires_at)}; use **Refresh links** after that.")
    budget = min(DESCRIPTION_MAX, EMBED_TOTAL - len(embed.title or "") - 200) - sum(
        len(h) + 1 for h in head
    )
    embed.description = "\n".join([*head, "", *stem_lines(job.stems, budget)])
    return embed


def failure_text(job: Job) -> str:
    what = {
        JobState.FAILED: "failed",
        JobState.TIMED_OUT: "timed out",
        JobState.INTERRUPTED: "was interrupted",
        JobState.CANCELLED: "was cancelled",
    }.get(job.state, job.state.value)
    return f"Job `#{job.id}` ({title_of(job)}) {what}: {safe(job.error, 900)}"


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
        discord.ui.Button(label=safe(s.label, 80), url=button_url(s)) for s in buttoned(stems)
    ]


def rules_embed(rules: GuildRules, spent: float) -> discord.Embed:
    roles = ", ".join(f"<@&{r}>" for r in rules.allowed_role_ids) or "everyone"
    channel = f"<#{rules.results_channel_id}>" if rules.results_channel_id else "where asked"
    budget = (
        f"{rules.budget_credits:g} credits per {rules.budget_period.value} "
        f"({spent:g} spent so far)" if rules.budget_credits is not None else "no limit"
    )
    daily = f"{rules.daily_user_limit} per person" if rules.daily_user_limit else "no limit"
    embed = discord.Embed(title="Stem separation settings", colour=discord.Colour.blurple())
    for name, value in (
        ("Who may request", roles),
        ("Results channel", channel),
        ("Daily limit", daily),
        ("Server budget", budget),
        ("Allowed modes", ", ".join(m.label for m in rules.allowed_modes) or "none"),
        ("Confirm 12-stem mode", "yes" if rules.confirm_full_split else "no"),
        ("DM when the channel fails", "yes" if rules.dm_fallback else "no"),
        ("Open jobs per person", str(rules.max_open_per_user)),
        ("Cooldown", f"{rules.cooldown_s:g} s"),
    ):
        embed.add_field(name=name, value=value)
    return embed


def job_line(job: Job) -> str:
    when = timestamp(job.created_at.timestamp())
    return f"`#{job.id}` {STATE_WORDS[job.state]} · {title_of(job)} · {job.mode.value} · {when}"

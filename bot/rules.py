"""A server's rules for who may spend credits and how many; pure checks that explain refusals."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.errors import UserError
from bot.i18n import _, duration, listed, ngettext, number
from bot.jobs import Mode


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class GuildRules:
    """Per-server settings. None or empty means "no limit"; admins are never refused by role."""

    allowed_role_ids: tuple[int, ...] = ()
    results_channel_id: int | None = None
    daily_user_limit: int | None = None
    budget_credits: float | None = None
    budget_period: Period = Period.MONTH
    allowed_modes: tuple[Mode, ...] = (Mode.VOCAL, Mode.INSTRUMENTAL)
    confirm_full_split: bool = True
    dm_fallback: bool = True
    max_open_per_user: int = 3
    cooldown_s: float = 30.0
    language: str | None = None  # public messages' language (a catalog name); None: the server's

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> GuildRules:
        data: dict[str, Any] = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        rules = replace(cls(), **known)
        return replace(
            rules,
            allowed_role_ids=tuple(int(r) for r in rules.allowed_role_ids),
            allowed_modes=tuple(Mode(m) for m in rules.allowed_modes),
            budget_period=Period(rules.budget_period),
        )


@dataclass(frozen=True)
class Usage:
    """What the store counted for one requester in one server."""

    user_jobs_today: int = 0
    user_open_jobs: int = 0
    guild_spent: float = 0.0
    last_request_at: float | None = None


@dataclass(frozen=True)
class Member:
    """The requester as the rules see them."""

    user_id: int
    role_ids: frozenset[int] = field(default_factory=frozenset)
    is_admin: bool = False


def plural(count: float, noun: str) -> str:
    """`1 job`, `2 jobs`."""
    return f"{count:g} {noun}" + ("" if count == 1 else "s")


def timestamp(ts: float, style: str = "R") -> str:
    """Discord's timestamp markup: every reader sees it in their own time zone."""
    return f"<t:{int(ts)}:{style}>"


def day_start(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def period_start(period: Period, now: float) -> float:
    moment = datetime.fromtimestamp(day_start(now), UTC)
    return (moment.replace(day=1) if period == Period.MONTH else moment).timestamp()


def period_end(period: Period, now: float) -> float:
    start = datetime.fromtimestamp(period_start(period, now), UTC)
    if period == Period.DAY:
        return (start + timedelta(days=1)).timestamp()
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month).timestamp()


def may_request(rules: GuildRules, member: Member) -> bool:
    """The role rule alone: admins always, everyone when no role is set, else a listed role."""
    return member.is_admin or not rules.allowed_role_ids or bool(
        member.role_ids & set(rules.allowed_role_ids)
    )


def check_access(rules: GuildRules, member: Member, mode: Mode, now: float, usage: Usage) -> None:
    """Rules that need no API call: role, mode, cooldown. Raises UserError naming the rule."""
    if not may_request(rules, member):
        roles = listed(f"<@&{r}>" for r in rules.allowed_role_ids)
        raise UserError(_("Only members with one of these roles may ask for stems: {roles}.",
                          roles=roles))
    if mode not in rules.allowed_modes:
        if not rules.allowed_modes:
            raise UserError(_("This server does not allow any mode right now."))
        raise UserError(_("This server does not allow “{mode}”. Allowed: {allowed}.",
                          mode=mode.label, allowed=listed(m.label for m in rules.allowed_modes)))
    last = usage.last_request_at
    if not member.is_admin and last is not None and now < last + rules.cooldown_s:
        raise UserError(_("Please wait between two jobs ({cooldown}). Try again {when}.",
                          cooldown=duration(rules.cooldown_s),
                          when=timestamp(last + rules.cooldown_s)))


def check_spending(rules: GuildRules, usage: Usage, cost: float, now: float) -> None:
    """Rules about paid jobs: open jobs, daily limit, server budget."""
    if usage.user_open_jobs >= rules.max_open_per_user:
        raise UserError(ngettext(
            "You already have {n} job running (the limit is {limit}). Wait for it to finish, "
            "or cancel it.",
            "You already have {n} jobs running (the limit is {limit}). Wait for one to finish, "
            "or cancel one.",
            usage.user_open_jobs, limit=number(rules.max_open_per_user)))
    if rules.daily_user_limit is not None and usage.user_jobs_today >= rules.daily_user_limit:
        raise UserError(ngettext(
            "Daily limit reached: {n} paid job per person per day. It resets {when}.",
            "Daily limit reached: {n} paid jobs per person per day. It resets {when}.",
            rules.daily_user_limit, when=timestamp(period_end(Period.DAY, now))))
    if rules.budget_credits is not None and usage.guild_spent + cost > rules.budget_credits:
        left = max(0.0, rules.budget_credits - usage.guild_spent)
        text = _("This server's credit budget is used up for today "
                 "({left} of {budget} left; this needs about {cost}). It resets {when}.")
        if rules.budget_period == Period.MONTH:
            text = _("This server's credit budget is used up for this month "
                     "({left} of {budget} left; this needs about {cost}). It resets {when}.")
        raise UserError(text.format(
            left=number(left), budget=number(rules.budget_credits), cost=number(cost),
            when=timestamp(period_end(rules.budget_period, now))))

"""A server's rules for who may spend credits and how many; pure checks that explain refusals."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.errors import UserError
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
        roles = ", ".join(f"<@&{r}>" for r in rules.allowed_role_ids)
        raise UserError(f"Only members with one of these roles may request stems: {roles}.")
    if mode not in rules.allowed_modes:
        allowed = " or ".join(f"`{m.value}`" for m in rules.allowed_modes) or "none"
        raise UserError(f"This server does not allow mode `{mode.value}`. Allowed: {allowed}.")
    last = usage.last_request_at
    if not member.is_admin and last is not None and now < last + rules.cooldown_s:
        raise UserError(
            f"Cooldown: one request every {rules.cooldown_s:.0f} s. "
            f"Try again {timestamp(last + rules.cooldown_s)}."
        )


def check_spending(rules: GuildRules, usage: Usage, cost: float, now: float) -> None:
    """Rules about paid requests: open jobs, daily limit, server budget."""
    if usage.user_open_jobs >= rules.max_open_per_user:
        raise UserError(
            f"You already have {plural(usage.user_open_jobs, 'job')} running (the limit is "
            f"{rules.max_open_per_user}). Wait for one to finish, or cancel one."
        )
    if rules.daily_user_limit is not None and usage.user_jobs_today >= rules.daily_user_limit:
        raise UserError(
            f"Daily limit reached: {plural(rules.daily_user_limit, 'paid request')} per person "
            f"per day. It resets {timestamp(period_end(Period.DAY, now))}."
        )
    if rules.budget_credits is not None and usage.guild_spent + cost > rules.budget_credits:
        left = max(0.0, rules.budget_credits - usage.guild_spent)
        raise UserError(
            f"This server's credit budget is used up for this {rules.budget_period.value} "
            f"({left:g} of {rules.budget_credits:g} left; this needs about {cost:g}). "
            f"It resets {timestamp(period_end(rules.budget_period, now))}."
        )

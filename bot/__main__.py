"""`python -m bot` / `stembot`: run the bot, or the operator subcommands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings, read_environment
from bot.jobs import JobState, Mode
from bot.logs import configure
from bot.store import StoreError

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stembot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the Discord bot (the default)")
    commands.add_parser("sync", help="register the slash commands with Discord now")
    commands.add_parser("check", help="check the settings, database, API key and Discord token")
    sandbox = commands.add_parser("sandbox", help="serve the loopback imitation of the crun API")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--dialect", choices=["snake", "camel", "list", "reseller"],
                         default="snake", help="the documented shape its answers take")
    jobs = commands.add_parser("jobs", help="list jobs from the database, or show one")
    jobs.add_argument("job_id", nargs="?", type=int, help="show this job in full")
    jobs.add_argument("--state", choices=[s.value for s in JobState])
    jobs.add_argument("--limit", type=int, default=20)
    purge = commands.add_parser("purge", help="delete finished jobs past retention")
    purge.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    migrate = commands.add_parser(
        "migrate-db", help="copy the SQLite database into an empty PostgreSQL one (stop the bot)")
    migrate.add_argument("--to", required=True, metavar="postgresql://…",
                         help="the empty PostgreSQL database to copy into")
    separate = commands.add_parser("separate", help="split one song without Discord")
    separate.add_argument("music_task_id", help="the finished Suno music task (task_id)")
    separate.add_argument("song", help="the song id (suno_id) or its suno.com/song link")
    separate.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.VOCAL.value)
    separate.add_argument("--sandbox", action="store_true",
                          help="use the bundled sandbox API: no key, no credits")
    return parser


def _settings(require: tuple[str, ...]) -> Settings:
    try:
        return load_settings(read_environment(), require=require)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        print("Set them in the environment, or copy .env.example to .env and fill it in "
              "(see README.md). To try without credentials: make demo", file=sys.stderr)
        raise SystemExit(2) from None


def _configure_logging(level: str, settings: Settings | None = None) -> None:
    secrets = () if settings is None else (
        settings.discord_token.reveal(), settings.crun_api_key.reveal(),
        settings.database_url.password if settings.database_url else "",
    )
    configure(level, settings.log_format if settings else "text", secrets)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    if command == "sandbox":
        return _sandbox(args)
    if command in ("jobs", "purge", "migrate-db"):
        return _ops(command, args)
    if command == "separate":
        return _separate(args)
    return _discord(command)


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox import run_forever

    _configure_logging("info")
    try:
        asyncio.run(run_forever(args.port, dialect=args.dialect))
    except KeyboardInterrupt:
        pass
    return 0


def _ops(command: str, args: argparse.Namespace) -> int:
    from bot.ops import migrate_db, purge, show_jobs

    settings = _settings(())
    _configure_logging("warning", settings)
    try:
        if command == "migrate-db":
            return asyncio.run(migrate_db(settings, args.to))
        if command == "purge":
            return asyncio.run(purge(settings, args.older_than))
        state = JobState(args.state) if args.state else None
        return asyncio.run(show_jobs(settings, args.job_id, state, args.limit))
    except StoreError as exc:
        print(f"stembot: {exc}", file=sys.stderr)
        return 2


def _separate(args: argparse.Namespace) -> int:
    from bot.cli import separate

    settings = _settings(() if args.sandbox else ("CRUN_API_KEY",))
    _configure_logging("warning", settings)
    return asyncio.run(separate(settings, args.music_task_id, args.song, Mode(args.mode),
                                use_sandbox=args.sandbox))


def _discord(command: str) -> int:
    """run, sync and check: the commands that need the Discord token."""
    from bot.bot import discord_identity, run_bot, sync_commands

    settings = _settings(("DISCORD_TOKEN", "CRUN_API_KEY"))
    if command == "check":
        from bot.ops import check

        _configure_logging("warning", settings)
        return asyncio.run(check(settings, discord_identity))
    _configure_logging(settings.log_level, settings)
    return asyncio.run(sync_commands(settings) if command == "sync" else run_bot(settings))


if __name__ == "__main__":
    sys.exit(main())

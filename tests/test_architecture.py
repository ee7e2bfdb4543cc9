"""The house's shape, read from the source: arrows one way, Discord at the edges, no SQL in cogs."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "cogs")
# bot/ imports discord only here: the Bot subclass, its command tree with the error table, and
# the entry point.
DISCORD_EDGE = {"bot.bot", "bot.tree", "bot.__main__"}
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b")
ENGINE_INSIDES = {"store", "scheduler", "api"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def tree(module: str) -> ast.Module:
    return ast.parse(modules()[module].read_text(encoding="utf-8"))


def imported(module: str) -> Iterator[str]:
    """Every module `module` imports, anywhere in it (functions and TYPE_CHECKING included)."""
    is_package = modules()[module].name == "__init__.py"
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from package import submodule` names the submodule; a parent package is not an
            # edge of its own (as with `import package.submodule`), else every package with
            # its own submodules would read as a cycle.
            submodules = [f"{base}.{a.name}" for a in node.names]
            found = [name for name in submodules if name in modules()]
            yield from found if len(found) == len(submodules) else [base, *found]


@cache
def graph() -> dict[str, frozenset[str]]:
    """Our modules and the modules of ours each one imports."""
    return {
        module: frozenset(target for target in imported(module) if target in modules())
        for module in modules()
    }


def cycles() -> list[list[str]]:
    """One import cycle per strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph()[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group: list[str] = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1 or module in graph()[module]:
                found.append(sorted(group))

    for module in modules():
        if module not in index:
            visit(module)
    return found


def imports_discord(module: str) -> bool:
    return any(name == "discord" or name.startswith("discord.") for name in imported(module))


def test_the_import_graph_is_read_from_the_source() -> None:
    # The checks below are only as good as the graph they walk.
    assert "cogs.stems._cog" in modules() and "bot.service" in graph()["cogs.stems._cog"]
    assert "cogs.stems._admin" in graph()["cogs.stems._cog"]  # `from cogs.stems import _admin`
    assert imports_discord("bot.bot") and not imports_discord("bot.service")


def test_there_are_no_import_cycles() -> None:
    assert cycles() == []


def test_nothing_in_bot_imports_cogs() -> None:
    reaching = {
        module: sorted(t for t in targets if t.split(".")[0] == "cogs")
        for module, targets in graph().items()
        if module.split(".")[0] == "bot"
    }
    assert {m: t for m, t in reaching.items() if t} == {}


def test_only_the_bot_class_and_the_entry_point_import_discord_in_bot() -> None:
    in_bot = [m for m in modules() if m.split(".")[0] == "bot"]
    assert {m for m in in_bot if imports_discord(m)} <= DISCORD_EDGE


def test_the_cogs_hold_no_sql() -> None:
    statements = [
        (module, node.value[:60])
        for module in modules() if module.startswith("cogs")
        for node in ast.walk(tree(module))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and SQL.search(node.value)
    ]
    assert statements == []


def test_the_cogs_do_not_reach_inside_the_engine() -> None:
    """The store, the scheduler and the api client are the service's: the cogs ask the service."""
    reaches = [
        (module, node.lineno, f"engine.{node.attr}")
        for module in modules() if module.startswith("cogs")
        for node in ast.walk(tree(module))
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_INSIDES
        and _names_engine(node.value)
    ]
    assert reaches == []


def _names_engine(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "engine") or (
        isinstance(node, ast.Name) and node.id == "engine"
    )


def _outside_the_store(module: str) -> bool:
    return module.split(".")[0] in PACKAGES and not module.startswith("bot.store")


def test_every_sql_statement_lives_in_the_store() -> None:
    statements = [
        (module, node.lineno)
        for module in modules() if _outside_the_store(module)
        for node in ast.walk(tree(module))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and SQL.search(node.value)
    ]
    assert statements == []


def test_no_database_driver_or_transaction_is_seen_outside_the_store() -> None:
    """A second backend replaces the store alone: callers hold models, never a connection."""
    drivers = {"sqlite3", "aiosqlite", "asyncpg"}
    leaks = [
        (module, name) for module in modules() if _outside_the_store(module)
        for name in imported(module) if name.split(".")[0] in drivers
    ] + [
        (module, f"line {node.lineno}")
        for module in modules() if _outside_the_store(module)
        for node in ast.walk(tree(module))
        if isinstance(node, ast.Attribute) and node.attr in {"transaction", "_db"}
    ]
    assert leaks == []


def test_job_events_are_published_by_the_store_hook_and_subscribed_in_the_engine() -> None:
    """One door for events: the engine hands `moved.publish` to the store and makes every
    subscription (its own, and the cog's through watch_jobs); nobody else touches the hub."""
    touching = sorted(
        module for module in modules() if module not in {"bot.engine", "bot.events"}
        for node in ast.walk(tree(module))
        if isinstance(node, ast.Attribute)
        and node.attr in {"moved", "publish", "observers", "events"}
    )
    assert touching == []


MAX_FILE_LINES = 250
MAX_FUNCTION_LINES = 40


def test_every_product_file_is_at_its_size() -> None:
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES}
    assert long == {}


def test_every_function_is_at_its_size() -> None:
    long = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name in modules()
        for node in ast.walk(tree(name))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []

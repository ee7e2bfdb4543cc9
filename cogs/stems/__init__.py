"""The /stems extension: loaded by name (`cogs.stems`), so it can be reloaded in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.stems._cog import Stems

if TYPE_CHECKING:
    from bot.bot import StemBot


async def setup(bot: StemBot) -> None:
    await bot.add_cog(Stems(bot))

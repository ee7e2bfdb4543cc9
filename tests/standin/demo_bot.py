"""A tiny bot exercising what the stand-in must support: defer, followups, views, autocomplete."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

FRUITS = ["apple", "apricot", "banana", "cherry"]


class Outcomes:
    """What the bot saw or raised, keyed by name, for the test to await."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[Any]] = {}

    def _future(self, key: str) -> asyncio.Future[Any]:
        return self._futures.setdefault(key, asyncio.get_running_loop().create_future())

    def set(self, key: str, value: Any) -> None:
        if not self._future(key).done():
            self._future(key).set_result(value)

    async def get(self, key: str, timeout_s: float = 5) -> Any:
        return await asyncio.wait_for(self._future(key), timeout_s)


class DemoBot(commands.Bot):
    """Commands cover each kind of answer; `outcomes` holds what the bot saw or raised."""

    def __init__(self, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,
        )
        self.outcomes = Outcomes()
        self.release = asyncio.Event()

    async def setup_hook(self) -> None:
        await self.add_cog(Demo(self))


SIZES = [
    discord.SelectOption(label="Small", value="s"),
    discord.SelectOption(label="Big", value="b"),
]
Button = discord.ui.Button["DemoView"]
Select = discord.ui.Select["DemoView"]


class DemoView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.add_item(discord.ui.Button(label="Docs", url="https://example.com/docs"))

    @discord.ui.button(label="OK", custom_id="demo:ok")
    async def ok(self, interaction: discord.Interaction, button: Button) -> None:
        await interaction.response.edit_message(content=f"clicked by {interaction.user.name}")

    @discord.ui.select(custom_id="demo:size", options=SIZES)
    async def size(self, interaction: discord.Interaction, select: Select) -> None:
        await interaction.response.send_message(f"size {select.values[0]}", ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text", max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class Demo(commands.Cog):
    demo = app_commands.Group(name="demo", description="Demo commands")

    def __init__(self, bot: DemoBot) -> None:
        self.bot = bot

    @app_commands.command(description="Defer, then follow up twice")
    async def ping(self, interaction: discord.Interaction) -> None:
        self.bot.outcomes.set("ping", interaction)
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("pong", ephemeral=True)
        await interaction.followup.send("second", ephemeral=True)

    @demo.command(description="Repeat text back, pinging only you")
    @app_commands.describe(text="What to repeat")
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        mention = discord.AllowedMentions(users=[interaction.user])
        content = f"{interaction.user.mention} said {discord.utils.escape_markdown(text)}"
        await interaction.response.send_message(content, allowed_mentions=mention)

    @demo.command(description="Show buttons")
    async def buttons(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pick one", view=DemoView())

    @demo.command(description="Pick a fruit")
    @app_commands.describe(name="Fruit name")
    async def fruit(self, interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"you picked {name}", ephemeral=True)

    @fruit.autocomplete("name")
    async def fruit_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if current == "many":  # more than Discord takes
            return [app_commands.Choice(name=f"fruit {i}", value=str(i)) for i in range(30)]
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    @app_commands.command(description="Post text in this channel")
    @app_commands.describe(text="What to post")
    async def announce(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message("posting", ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        self.bot.outcomes.set("app_permissions", interaction.app_permissions)
        try:
            self.bot.outcomes.set("announce", await interaction.channel.send(text))
        except discord.HTTPException as error:
            self.bot.outcomes.set("announce", error)

    @app_commands.command(description="Answer only once the test says so")
    async def slow(self, interaction: discord.Interaction) -> None:
        self.bot.outcomes.set("slow started", True)
        await self.bot.release.wait()
        try:
            await interaction.response.send_message("finally")
        except discord.HTTPException as error:
            self.bot.outcomes.set("slow", error)

    @app_commands.command(description="Open a feedback form")
    async def feedback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

"""The API's credits figure is written with the move that ends the job, never after it."""

from __future__ import annotations

import pytest

from bot.jobs import JobState
from bot.service.followup import Viewer
from tests._rig import Rig, state, submit

API_FIGURE = 0.75  # what the API says it charged; the estimate recorded at submission is 1.0


async def _api_reports(rig: Rig, job_id: int, credits: float) -> None:
    job = await rig.engine.store.get(job_id)
    assert job is not None and job.remote_id is not None
    rig.sandbox.separations[job.remote_id].credits = credits


async def test_a_failure_after_the_finishing_move_cannot_lose_the_api_figure(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = await submit(rig)
    await _api_reports(rig, job_id, API_FIGURE)

    async def broken(job_id: int, credits: float) -> None:
        raise OSError("injected: the disk failed between the move and the charge")

    # Before, settle_charge ran in a second transaction after the move: failing there kept
    # the estimate. Now the move writes the charge itself and there is no second step.
    monkeypatch.setattr(rig.engine.store, "settle_charge", broken)
    await rig.advance(120, step=5)

    assert await state(rig, job_id) == JobState.SUCCEEDED
    assert (await rig.engine.store.get(job_id)).credits == API_FIGURE  # type: ignore[union-attr]
    assert await rig.engine.store.credits_total() == API_FIGURE


async def test_a_cancel_racing_a_successful_check_keeps_the_api_figure(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = await submit(rig)
    await _api_reports(rig, job_id, API_FIGURE)
    real = rig.engine.api.separation
    cancelled: list[JobState] = []

    async def cancel_while_checking(remote_id: str):
        seen = await real(remote_id)
        job = await rig.engine.store.get(job_id)
        assert job is not None
        if job.is_open and seen.state.value == "succeeded":  # the requester cancels now
            done = await rig.engine.service.cancel(job, Viewer(3, 1, is_admin=False))
            cancelled.append(done.job.state)
        return seen

    monkeypatch.setattr(rig.engine.api, "separation", cancel_while_checking)
    await rig.advance(120, step=5)

    assert cancelled == [JobState.CANCELLED]
    assert await state(rig, job_id) == JobState.CANCELLED
    assert (await rig.engine.store.get(job_id)).credits == API_FIGURE  # type: ignore[union-attr]
    assert await rig.engine.store.credits_total() == API_FIGURE

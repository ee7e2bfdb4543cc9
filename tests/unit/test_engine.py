"""The engine: results are posted by whoever is attached; until then, due deliveries wait."""

from __future__ import annotations

from bot.jobs import Delivery, JobState, Mode
from bot.service import Request
from tests._rig import Recorder, Rig

TASK, SONG = "demo-music-task", "demo-song-1"


async def test_deliveries_due_before_a_poster_is_attached_wait_for_it_untried(rig: Rig) -> None:
    rig.engine.attach_poster(None)  # as between a cog's unload and the next load
    job_id = (await rig.engine.service.submit(Request(TASK, SONG, Mode.VOCAL, 1, 2, 3))).job.id
    await rig.advance(300, step=10)
    job = await rig.engine.store.get(job_id)
    waiting = await rig.engine.store.subscriptions(job_id)

    poster = Recorder()
    rig.engine.attach_poster(poster)
    await rig.settle()

    assert job is not None and job.state == JobState.SUCCEEDED
    assert [(s.delivery, s.attempts) for s in waiting] == [(Delivery.PENDING, 0)]
    assert rig.recorder.calls == []
    assert poster.delivered_job_ids() == [job_id]
    delivered = await rig.engine.store.subscriptions(job_id)
    assert [s.delivery for s in delivered] == [Delivery.CHANNEL]

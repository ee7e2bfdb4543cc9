"""A write that must not be lost is tried again at once, and one that went through is not redone."""

from __future__ import annotations

import pytest

from bot.durable import RECORD_ATTEMPTS, write_durably


class Disk:
    def __init__(self, failures: int, *, commits_anyway: bool = False) -> None:
        self.failures, self.commits_anyway = failures, commits_anyway
        self.attempts = 0
        self.written: str | None = None

    async def write(self) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            if self.commits_anyway:
                self.written = "done"
            raise OSError("disk I/O error")
        self.written = "done"
        return "done"

    async def read_back(self) -> str | None:
        return self.written


@pytest.mark.parametrize("failures", range(RECORD_ATTEMPTS))
async def test_a_write_that_fails_fewer_times_than_the_attempts_is_written(
    failures: int,
) -> None:
    disk = Disk(failures)

    assert await write_durably(disk.write, what="w", job_id=1) == "done"
    assert disk.attempts == failures + 1


async def test_a_write_that_keeps_failing_raises_after_the_last_attempt() -> None:
    disk = Disk(RECORD_ATTEMPTS)

    with pytest.raises(OSError):
        await write_durably(disk.write, what="w", job_id=1, went_through=disk.read_back)
    assert disk.attempts == RECORD_ATTEMPTS


async def test_a_write_that_committed_before_failing_is_not_tried_again() -> None:
    disk = Disk(RECORD_ATTEMPTS, commits_anyway=True)

    written = await write_durably(disk.write, what="w", job_id=1, went_through=disk.read_back)
    assert written == "done" and disk.attempts == 1

"""Injected clocks: the system clock in production, a manual one in tests and the terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, terminal ``/time``)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("naive datetime")
        self._now = when.astimezone(UTC)

    def advance(self, **kwargs: float) -> datetime:
        self._now += timedelta(**kwargs)
        return self._now


class OffsetClock:
    """System time shifted by an offset (the terminal's ``/time`` in live mode)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, when: datetime) -> None:
        self.offset = when.astimezone(UTC) - datetime.now(UTC)

    def advance(self, **kwargs: float) -> datetime:
        self.offset += timedelta(**kwargs)
        return self.now()

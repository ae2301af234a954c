"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC; always returns aware UTC datetimes.

    SQLite keeps no time zone, so normalising at the boundary keeps both backends identical.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utc_text(value: datetime | None) -> str | None:
    """A time as the JSON batches of the PostgreSQL statements carry it (``CAST(e->>n AS timestamp)``):
    naive UTC in ISO form, as :class:`UTCDateTime` columns keep it; None stays None."""
    stamp = UTCDateTime().process_bind_param(value, None)
    return None if stamp is None else stamp.isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)

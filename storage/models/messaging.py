"""Delivery plumbing: inbound dedup, the outbound outbox, cards sent, scheduler bookkeeping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, SmallInteger, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class InboundEvent(SQLModel, table=True):
    """Every accepted inbound event, keyed by its platform dedup key; replayed if left pending."""

    __tablename__ = "inbound_events"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    channel: str = Field(max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending|done|failed
    error: str | None = None
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class OutboxMessage(SQLModel, table=True):
    """One outbound delivery to one recipient on one channel. ``key`` is the idempotency key."""

    __tablename__ = "outbox"
    # ix_outbox_recipient_sent: per-user pacing counts a recipient's recent sends (without it, every
    # sent row of the channel was scanned: 190 ms per round at 1M sent rows on PostgreSQL, 3 ms with).
    # ix_outbox_card_key: a card's update is claimed only when no earlier row of the same card is
    # pending or sending (storage/outbox.py ``claim_due``); only rows about a card are indexed.
    __table_args__ = (Index("ix_outbox_due", "channel", "status", "next_attempt_at"),
                      Index("ix_outbox_recipient_sent", "recipient", "sent_at"),
                      Index("ix_outbox_card_key", "card_key", sqlite_where=text("card_key IS NOT NULL"),
                            postgresql_where=text("card_key IS NOT NULL")),
                      Index("ix_outbox_digest", "channel", "digest", sqlite_where=text("digest IS NOT NULL"),
                            postgresql_where=text("digest IS NOT NULL")))

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=128)
    employee_id: str | None = Field(default=None, max_length=64, index=True)
    kind: str = Field(max_length=16)  # text|markdown|card|update_card|image|file
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending|sending|sent|failed|parked
    attempts: int = 0
    # A previous attempt may have reached the platform (timeout, 5xx, crash mid-send): every
    # further attempt must be one the platform deduplicates.
    in_doubt: bool = Field(default=False)
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))  # first transient failure
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # Claim order (storage/outbox.py): 0 = the reply to someone who just wrote, 1 = everything else.
    priority: int = Field(default=1, sa_column=Column(SmallInteger, nullable=False, server_default="1"))
    # The card this row is (kind card) or updates (kind update_card): that card's outbox key, set
    # when the row is enqueued; null for every other row. Rows of one card are claimed in id order.
    card_key: str | None = Field(default=None, max_length=255)
    # Rows whose content can go to many people in one call (texts, shared cards) carry a digest of
    # it: a round claims the due rows with the same content along (storage/outbox.py ``claim_due``).
    digest: str | None = Field(default=None, max_length=40)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class RateWindow(SQLModel, table=True):
    """Calls made against a platform-wide limit in one fixed window (shared by every process)."""

    __tablename__ = "rate_windows"

    key: str = Field(primary_key=True, max_length=128)  # e.g. "wecom:<corp>:<agent>:message/send"
    window: int = Field(primary_key=True)  # epoch seconds at the window start
    used: int = 0


class CardRecord(SQLModel, table=True):
    """A card delivered to someone: what it is about (``subject``) ↔ the platform handle."""

    __tablename__ = "cards_sent"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=128, index=True)  # e.g. "adj:12", "checkin:E001:2026-W48"
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=128)
    employee_id: str | None = Field(default=None, max_length=64)
    outbox_key: str = Field(max_length=255, unique=True)
    # The platform's lookup id for this card (WeCom task_id, DingTalk outTrackId/cardBizId).
    handle_key: str | None = Field(default=None, max_length=255, index=True)
    handle: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    card: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # None while the card is on its way: the record is written when its outbox row is claimed, so a
    # tap or an update arriving while the platform call is still in flight finds it.
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class JobRun(SQLModel, table=True):
    """One run of a named job for one scheduled instant: the unique key makes runs happen once."""

    __tablename__ = "job_runs"

    id: int | None = Field(default=None, primary_key=True)
    run_key: str = Field(max_length=200, unique=True)  # f"{job}@{scheduled_for.isoformat()}"
    job: str = Field(max_length=64, index=True)
    scheduled_for: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default="running", max_length=16)  # running|done|failed
    owner: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    detail: str | None = None


class JobRowFailure(SQLModel, table=True):
    """A row a scheduled job could not handle: logged once, kept here, skipped over by the job."""

    __tablename__ = "job_row_failures"

    job: str = Field(primary_key=True, max_length=64)
    row_key: str = Field(primary_key=True, max_length=200)  # e.g. "visit:V0001"
    error: str | None = None
    failures: int = 1
    first_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SchedulerLease(SQLModel, table=True):
    """Leader lease: the process holding an unexpired lease runs the scheduler."""

    __tablename__ = "scheduler_leases"

    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

"""outbox.card_key: the card a row is or updates, so the rows of one card are claimed in order

With several processes sharing the database, two of them could claim two updates of one card at
once and an older state land after a newer one. A row with a card key is claimable only when no
earlier row with the same key (the card itself, an earlier update) is still pending or sending
(storage/outbox.py ``claim_due``). The key is the card's outbox key: a card row's own key, an
update's card record's ``outbox_key``. Rows not finished yet (pending, sending, parked) get theirs
here; sent and failed rows block nothing and keep none.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

outbox = sa.table("outbox", sa.column("id", sa.Integer()), sa.column("key", sa.String()),
                  sa.column("kind", sa.String()), sa.column("status", sa.String()),
                  sa.column("payload", sa.JSON()), sa.column("card_key", sa.String()))
cards_sent = sa.table("cards_sent", sa.column("id", sa.Integer()), sa.column("outbox_key", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("card_key", sa.String(length=255), nullable=True))
    op.create_index("ix_outbox_card_key", "outbox", ["card_key"], sqlite_where=sa.text("card_key IS NOT NULL"),
                    postgresql_where=sa.text("card_key IS NOT NULL"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.key, outbox.c.kind, outbox.c.payload).where(
        outbox.c.kind.in_(("card", "update_card")), outbox.c.status.in_(("pending", "sending", "parked")))).all()
    record_ids = {(r.payload or {}).get("record_id") for r in rows if r.kind == "update_card"} - {None}
    card_of = dict(conn.execute(sa.select(cards_sent.c.id, cards_sent.c.outbox_key).where(
        cards_sent.c.id.in_(record_ids))).all()) if record_ids else {}
    keys = []
    for r in rows:
        payload = r.payload or {}
        key = r.key if r.kind == "card" and payload.get("subject") else card_of.get(payload.get("record_id"))
        if key:
            keys.append({"_id": r.id, "_key": key})
    if keys:
        conn.execute(outbox.update().where(outbox.c.id == sa.bindparam("_id"))
                     .values(card_key=sa.bindparam("_key")), keys)


def downgrade() -> None:
    op.drop_index("ix_outbox_card_key", table_name="outbox", sqlite_where=sa.text("card_key IS NOT NULL"),
                  postgresql_where=sa.text("card_key IS NOT NULL"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("card_key")

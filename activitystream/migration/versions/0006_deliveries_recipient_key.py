"""Deliveries name their recipient by an integer key (issue 15).

A new table, ``activitystream_recipients``, gives each recipient (type, id)
an integer key, and the deliveries keep that key instead of the two strings:
their rows and their inbox key (recipient, timestamp, action) become three
integers wide. Upgrading registers every recipient the deliveries name, then
copies the deliveries into a new table with the keys (a primary key change is
a new table on SQLite, so it is done that way everywhere); downgrading copies
them back with the names. Nothing else changes: dismissals, read marks and
seen state keep (type, id), being one row per recipient or per action read.
"""

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name

revision = '0006'
down_revision = '0005'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
NAMED = ('recipient_type', 'recipient_id', 'timestamp', 'action_id')
KEYED = ('recipient_key', 'timestamp', 'action_id')


def _recipients() -> sa.TableClause:
    return sa.table(
        name('activitystream_recipients'),
        sa.column('id'),
        sa.column('recipient_type'),
        sa.column('recipient_id'),
    )


def _replace_deliveries(columns: list[sa.Column], rows: sa.Select) -> None:
    """Move the deliveries to a table of ``columns`` keyed in that order, filled with ``rows``."""
    deliveries, index = (
        name('activitystream_deliveries'),
        name('ix_activitystream_deliveries_action'),
    )
    op.drop_index(index, table_name=deliveries)
    op.rename_table(deliveries, f'{deliveries}_old')
    if op.get_bind().dialect.name == 'postgresql':  # the key's index would keep its name
        op.execute(
            f'ALTER INDEX {name("pk_activitystream_deliveries")} '
            f'RENAME TO {name("pk_activitystream_deliveries")}_old'
        )
    keys = [c.name for c in columns]
    op.create_table(
        deliveries,
        *columns,
        sa.PrimaryKeyConstraint(*keys, name=name('pk_activitystream_deliveries')),
        sqlite_with_rowid=False,
    )
    op.execute(sa.table(deliveries, *map(sa.column, keys)).insert().from_select(keys, rows))
    op.drop_table(f'{deliveries}_old')
    op.create_index(index, deliveries, ['action_id'])


def upgrade() -> None:
    deliveries = name('activitystream_deliveries')
    inspector = sa.inspect(op.get_bind())
    if 'recipient_key' in {c['name'] for c in inspector.get_columns(deliveries)}:
        return  # setup-app's create_all made today's tables already
    if not inspector.has_table(name('activitystream_recipients')):
        op.create_table(
            name('activitystream_recipients'),
            sa.Column('id', ID, primary_key=True, autoincrement=True),
            sa.Column('recipient_type', sa.String(128), nullable=False),
            sa.Column('recipient_id', sa.String(128), nullable=False),
            sa.UniqueConstraint(
                'recipient_type', 'recipient_id', name=name('uq_activitystream_recipients_ref')
            ),
        )
    old = sa.table(f'{deliveries}_old', *map(sa.column, NAMED))
    named = sa.table(deliveries, *map(sa.column, NAMED))
    recipients = _recipients()
    everyone = sa.select(named.c.recipient_type, named.c.recipient_id).distinct()
    known = (recipients.c.recipient_type == named.c.recipient_type) & (
        recipients.c.recipient_id == named.c.recipient_id
    )
    everyone = everyone.where(~sa.exists().where(known))
    op.execute(recipients.insert().from_select(['recipient_type', 'recipient_id'], everyone))
    same = (recipients.c.recipient_type == old.c.recipient_type) & (
        recipients.c.recipient_id == old.c.recipient_id
    )
    _replace_deliveries(
        [
            sa.Column('recipient_key', ID, nullable=False),
            sa.Column('timestamp', sa.DateTime, nullable=False),
            sa.Column('action_id', ID, nullable=False),
        ],
        sa.select(recipients.c.id, old.c.timestamp, old.c.action_id).join(recipients, same),
    )


def downgrade() -> None:
    old = sa.table(f'{name("activitystream_deliveries")}_old', *map(sa.column, KEYED))
    recipients = _recipients()
    _replace_deliveries(
        [
            sa.Column('recipient_type', sa.String(128), nullable=False),
            sa.Column('recipient_id', sa.String(128), nullable=False),
            sa.Column('timestamp', sa.DateTime, nullable=False),
            sa.Column('action_id', ID, nullable=False),
        ],
        sa.select(
            recipients.c.recipient_type, recipients.c.recipient_id, old.c.timestamp, old.c.action_id
        ).join(recipients, recipients.c.id == old.c.recipient_key),
    )
    op.drop_table(name('activitystream_recipients'))

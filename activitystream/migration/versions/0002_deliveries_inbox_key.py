"""Deliveries keyed by the inbox order; a partial index of broadcasts (commit e3a0c6a).

The deliveries' primary key becomes (recipient, timestamp, action), with no
foreign key and a plain index on the action; SQLite keeps the rows in that key
(WITHOUT ROWID). A primary key change is a new table on SQLite, so it is done
that way everywhere: create, copy, drop, rename. The broadcast index becomes
partial: the broadcasts only, with their actor.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name

revision = '0002'
down_revision = '0001'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
COLUMNS = ('recipient_type', 'recipient_id', 'timestamp', 'action_id')


def _columns() -> list:
    return [
        sa.Column('recipient_type', sa.String(128), nullable=False),
        sa.Column('recipient_id', sa.String(128), nullable=False),
        sa.Column('timestamp', sa.DateTime, nullable=False),
        sa.Column('action_id', ID, nullable=False),
    ]


def _replace_deliveries(
    *constraints: sa.Constraint, sqlite_with_rowid: bool, join: bool = False
) -> None:
    """Copy the deliveries into a table with ``constraints``, which then takes their name."""
    deliveries = name('activitystream_deliveries')
    new = f'{deliveries}_new'
    op.create_table(new, *_columns(), *constraints, sqlite_with_rowid=sqlite_with_rowid)
    old = sa.table(deliveries, *map(sa.column, COLUMNS))
    rows = sa.select(*old.c)
    if join:  # only rows whose action is still there satisfy the foreign key
        actions = sa.table(name('activitystream_actions'), sa.column('id'))
        rows = rows.where(old.c.action_id.in_(sa.select(actions.c.id)))
    op.execute(sa.table(new, *map(sa.column, COLUMNS)).insert().from_select(COLUMNS, rows))
    op.drop_table(deliveries)
    op.rename_table(new, deliveries)


def _broadcast_index(columns: list[Any], **options: Any) -> None:
    index, actions = name('ix_activitystream_actions_broadcast'), name('activitystream_actions')
    op.drop_index(index, table_name=actions)
    op.create_index(index, actions, columns, **options)


def upgrade() -> None:
    _replace_deliveries(
        sa.PrimaryKeyConstraint(*COLUMNS, name=name('pk_activitystream_deliveries')),
        sqlite_with_rowid=False,
    )
    op.create_index(
        name('ix_activitystream_deliveries_action'),
        name('activitystream_deliveries'),
        ['action_id'],
    )
    broadcasts = sa.column('broadcast') == sa.true()
    _broadcast_index(
        ['timestamp', 'id', 'actor_type', 'actor_id'],
        postgresql_where=broadcasts,
        sqlite_where=broadcasts,
    )


def downgrade() -> None:
    deliveries = name('activitystream_deliveries')
    _replace_deliveries(
        sa.PrimaryKeyConstraint(
            'action_id', 'recipient_type', 'recipient_id', name=f'{deliveries}_pkey'
        ),
        sa.ForeignKeyConstraint(
            ['action_id'],
            [name('activitystream_actions') + '.id'],
            ondelete='CASCADE',
            name=f'{deliveries}_action_id_fkey',
        ),
        sqlite_with_rowid=True,
        join=True,
    )
    op.create_index(name('ix_activitystream_deliveries_inbox'), deliveries, list(COLUMNS))
    _broadcast_index(['broadcast', 'timestamp', 'id'])

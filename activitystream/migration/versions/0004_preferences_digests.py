"""Notification preferences, digest items and digest marks (issue 13).

Revision 0004, after 0003. Name tables, indexes and constraints with
``name('activitystream_...')``: the site may have renamed them.
"""

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name

revision = '0004'
down_revision = '0003'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TABLES = (
    'activitystream_preferences',
    'activitystream_digest_items',
    'activitystream_digest_marks',
)


def _recipient() -> list:
    return [
        sa.Column('recipient_type', sa.String(128), primary_key=True),
        sa.Column('recipient_id', sa.String(128), primary_key=True),
    ]


def upgrade() -> None:
    has_table = sa.inspect(op.get_bind()).has_table
    if not has_table(name('activitystream_preferences')):
        op.create_table(
            name('activitystream_preferences'),
            *_recipient(),
            sa.Column('kind', sa.Unicode(255), primary_key=True),
            sa.Column('channels', sa.String(64), nullable=False),
            sa.Column('updated', sa.DateTime, nullable=False),
        )
    if not has_table(name('activitystream_digest_items')):
        items = name('activitystream_digest_items')
        op.create_table(
            items,
            sa.Column('id', ID, primary_key=True, autoincrement=True),
            sa.Column('recipient_type', sa.String(128), nullable=False),
            sa.Column('recipient_id', sa.String(128), nullable=False),
            sa.Column('kind', sa.Unicode(255), nullable=False),
            sa.Column('verb', sa.Unicode(255), nullable=False),
            sa.Column('actor_type', sa.String(128)),
            sa.Column('actor_id', sa.String(128)),
            sa.Column('target_type', sa.String(128)),
            sa.Column('target_id', sa.String(128)),
            sa.Column('text', sa.UnicodeText, nullable=False),
            sa.Column('timestamp', sa.DateTime, nullable=False),
            sa.Column('created', sa.DateTime, nullable=False),
        )
        op.create_index(
            name('ix_activitystream_digest_items_recipient'),
            items,
            ['recipient_type', 'recipient_id', 'created', 'id'],
        )
    if not has_table(name('activitystream_digest_marks')):
        op.create_table(
            name('activitystream_digest_marks'),
            *_recipient(),
            sa.Column('period', sa.String(16), primary_key=True),
            sa.Column('last_key', sa.String(32), nullable=False),
            sa.Column('sent', sa.DateTime, nullable=False),
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(name(table))

"""The schema before deliveries were keyed by the inbox order (the base revision).

Every table as 1.0 has it, except the two things commit e3a0c6a changed:
deliveries keyed by (action, recipient) with a foreign key to their action and
a separate inbox index, and a full index on ``broadcast``. A database made by
``create_all`` in that layout is adopted at this revision. The definitions
are frozen here: a later change of ``storage/sqla/schema.py`` is a new revision.
"""

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name

revision = '0001'
down_revision = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TYPE = sa.String(128)
KEY = sa.String(128)


def _indexes(table: str, *indexes: tuple) -> None:
    for index, columns, options in indexes:
        op.create_index(name(index), name(table), columns, **options)


def upgrade() -> None:
    actions = name('activitystream_actions')
    op.create_table(
        actions,
        sa.Column('id', ID, primary_key=True, autoincrement=True),
        sa.Column('actor_type', TYPE, nullable=False),
        sa.Column('actor_id', KEY, nullable=False),
        sa.Column('verb', sa.Unicode(255), nullable=False),
        sa.Column('target_type', TYPE),
        sa.Column('target_id', KEY),
        sa.Column('action_obj_type', TYPE),
        sa.Column('action_obj_id', KEY),
        sa.Column('description', sa.UnicodeText),
        sa.Column('extra', sa.UnicodeText),
        sa.Column('timestamp', sa.DateTime, nullable=False),
        sa.Column('broadcast', sa.Boolean, nullable=False),
        sa.Column('public', sa.Boolean, nullable=False),
    )
    stream = ['timestamp', 'id', 'public']
    _indexes(
        'activitystream_actions',
        ('ix_activitystream_actions_actor', ['actor_type', 'actor_id', *stream], {}),
        ('ix_activitystream_actions_target', ['target_type', 'target_id', *stream], {}),
        ('ix_activitystream_actions_obj', ['action_obj_type', 'action_obj_id', *stream], {}),
        ('ix_activitystream_actions_verb', ['verb', *stream], {}),
        ('ix_activitystream_actions_broadcast', ['broadcast', 'timestamp', 'id'], {}),
        ('ix_activitystream_actions_timestamp', stream, {}),
    )
    deliveries = name('activitystream_deliveries')
    op.create_table(
        deliveries,
        sa.Column('action_id', ID, nullable=False),
        sa.Column('recipient_type', TYPE, nullable=False),
        sa.Column('recipient_id', KEY, nullable=False),
        sa.Column('timestamp', sa.DateTime, nullable=False),
        # the names PostgreSQL gave them when create_all made this table
        sa.PrimaryKeyConstraint(
            'action_id', 'recipient_type', 'recipient_id', name=f'{deliveries}_pkey'
        ),
        sa.ForeignKeyConstraint(
            ['action_id'],
            [f'{actions}.id'],
            ondelete='CASCADE',
            name=f'{deliveries}_action_id_fkey',
        ),
    )
    _indexes(
        'activitystream_deliveries',
        (
            'ix_activitystream_deliveries_inbox',
            ['recipient_type', 'recipient_id', 'timestamp', 'action_id'],
            {},
        ),
    )
    op.create_table(
        name('activitystream_seen'),
        sa.Column('recipient_type', TYPE, primary_key=True),
        sa.Column('recipient_id', KEY, primary_key=True),
        sa.Column('last_seen', sa.DateTime),
        sa.Column('read_until', sa.DateTime),
    )
    op.create_table(
        name('activitystream_reads'),
        sa.Column('recipient_type', TYPE, primary_key=True),
        sa.Column('recipient_id', KEY, primary_key=True),
        sa.Column(
            'action_id',
            ID,
            sa.ForeignKey(f'{actions}.id', ondelete='CASCADE'),
            primary_key=True,
        ),
        sa.Column('timestamp', sa.DateTime, nullable=False),
    )
    _indexes(
        'activitystream_reads',
        ('ix_activitystream_reads_time', ['recipient_type', 'recipient_id', 'timestamp'], {}),
    )
    op.create_table(
        name('activitystream_subscriptions'),
        sa.Column('subscriber_type', TYPE, primary_key=True),
        sa.Column('subscriber_id', KEY, primary_key=True),
        sa.Column('object_type', TYPE, primary_key=True),
        sa.Column('object_id', KEY, primary_key=True),
        sa.Column('created', sa.DateTime, nullable=False),
    )
    subscriber, obj = ['subscriber_type', 'subscriber_id'], ['object_type', 'object_id']
    _indexes(
        'activitystream_subscriptions',
        ('ix_activitystream_subscriptions_object', [*obj, 'created', *subscriber], {}),
        ('ix_activitystream_subscriptions_subscriber', [*subscriber, 'created', *obj], {}),
    )
    op.create_table(
        name('activitystream_outbox'),
        sa.Column('id', ID, primary_key=True, autoincrement=True),
        sa.Column('key', sa.String(255)),
        sa.Column('kind', sa.String(64), nullable=False),
        sa.Column('priority', sa.String(8), nullable=False),
        sa.Column('payload', sa.UnicodeText, nullable=False),
        sa.Column('ready', sa.Boolean, nullable=False),
        sa.Column('dead', sa.Boolean, nullable=False),
        sa.Column('attempts', sa.Integer, nullable=False),
        sa.Column('available_at', sa.DateTime, nullable=False),
        sa.Column('owner', sa.String(64)),
        sa.Column('error', sa.UnicodeText),
        sa.Column('created', sa.DateTime, nullable=False),
    )
    claimable = sa.and_(sa.column('ready') == sa.true(), sa.column('dead') == sa.false())
    _indexes(
        'activitystream_outbox',
        ('ix_activitystream_outbox_key', ['key'], {'unique': True}),
        (
            'ix_activitystream_outbox_due',
            ['priority', 'available_at', 'id'],
            {'postgresql_where': claimable, 'sqlite_where': claimable},
        ),
    )


def downgrade() -> None:
    for table in ('outbox', 'subscriptions', 'reads', 'seen', 'deliveries', 'actions'):
        op.drop_table(name(f'activitystream_{table}'))

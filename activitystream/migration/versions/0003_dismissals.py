"""Dismissals: what one recipient took out of its inbox (``am.dismiss``).

Revision 0003, after 0002. Name tables, indexes and constraints with
``name('activitystream_...')``: the site may have renamed them.
"""

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name

revision = '0003'
down_revision = '0002'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    dismissals = name('activitystream_dismissals')
    if sa.inspect(op.get_bind()).has_table(dismissals):
        return  # setup-app's create_all made it already
    op.create_table(
        dismissals,
        sa.Column('recipient_type', sa.String(128), nullable=False),
        sa.Column('recipient_id', sa.String(128), nullable=False),
        sa.Column('broadcast', sa.Boolean, nullable=False),
        sa.Column('timestamp', sa.DateTime, nullable=False),
        sa.Column(
            'action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            'recipient_type',
            'recipient_id',
            'broadcast',
            'timestamp',
            'action_id',
            name=name('pk_activitystream_dismissals'),
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(name('ix_activitystream_dismissals_action'), dismissals, ['action_id'])


def downgrade() -> None:
    op.drop_table(name('activitystream_dismissals'))

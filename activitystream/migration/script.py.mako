"""${message}

Revision ${up_revision}, after ${down_revision}. Name tables, indexes and
constraints with ``name('activitystream_...')``: the site may have renamed them.
"""

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}

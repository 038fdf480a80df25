"""SQLite: every time of our tables as integer milliseconds since the epoch (issue 15).

Revision 0007, after 0006. SQLAlchemy's ``DateTime`` wrote 26 characters of
text on SQLite (``'2026-12-06 09:57:31.123000'``); the columns now hold
integer milliseconds (``activitystream.storage.sqla.types.Timestamp``). Their
declared type stays ``DATETIME``, whose NUMERIC affinity stores an integer as
an integer, so each value is rewritten in place and no table is rebuilt.

Exact, with no float in the way: the seconds come from ``strftime('%s')`` of
the text without its fraction, the milliseconds are the fraction's first three
digits (truncated, as ``timeutil.to_utc`` truncates). Only values of the other
kind are touched, so a database whose tables ``create_all`` made today (and
that setup-app then adopted at an older revision) goes through unchanged, and
NULLs stay NULL. The space the text took is free pages of the file until a
``VACUUM``. Other databases keep their native time type: nothing to do.
"""

import sqlalchemy as sa
from alembic import op

from activitystream.migration import name

revision = '0007'
down_revision = '0006'

# every time column of our tables, as revisions 0001 to 0006 made them
TIMES = {
    'activitystream_actions': ('timestamp',),
    'activitystream_deliveries': ('timestamp',),
    'activitystream_seen': ('last_seen', 'read_until'),
    'activitystream_reads': ('timestamp',),
    'activitystream_dismissals': ('timestamp',),
    'activitystream_subscriptions': ('created',),
    'activitystream_outbox': ('available_at', 'created'),
    'activitystream_preferences': ('updated',),
    'activitystream_digest_items': ('timestamp', 'created'),
    'activitystream_digest_marks': ('sent',),
}

# SQLAlchemy's text, 'YYYY-MM-DD HH:MM:SS.ffffff': seconds of its first 19 characters,
# milliseconds of characters 21 to 23 ('000' appended: a value without a fraction is 0)
SECONDS = "CAST(strftime('%s', substr({c}, 1, 19)) AS INTEGER)"
TO_MILLIS = SECONDS + " * 1000 + CAST(substr({c} || '000', 21, 3) AS INTEGER)"
# and back: floored seconds (SQLite's integer division truncates towards zero) and the rest
REST = '(({c} % 1000 + 1000) % 1000)'
TO_TEXT = (
    "strftime('%Y-%m-%d %H:%M:%S', ({c} - " + REST + ") / 1000, 'unixepoch')"
    " || printf('.%03d000', " + REST + ')'
)


def _rewrite(expression: str, kind: str) -> None:
    """Set every time of ``kind`` ('text', 'integer') to ``expression`` of it; check none is left.

    A value that does not read as a time stays as it was, and stops the
    migration with the table, the column and the value.
    """
    bind = op.get_bind()
    for table, columns in TIMES.items():
        table = name(table)
        if not sa.inspect(bind).has_table(table):
            continue
        quoted = bind.dialect.identifier_preparer.quote
        for column in map(quoted, columns):
            new = expression.format(c=column)
            bind.exec_driver_sql(
                f'UPDATE {quoted(table)} SET {column} = coalesce({new}, {column}) '
                f"WHERE typeof({column}) = '{kind}'"
            )
            left = bind.exec_driver_sql(
                f'SELECT {column} FROM {quoted(table)} WHERE typeof({column}) = ? LIMIT 1',
                (kind,),
            ).first()
            if left is not None:
                raise RuntimeError(f'{table}.{column} holds {left[0]!r}, which is not a time')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rewrite(TO_MILLIS, 'text')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rewrite(TO_TEXT, 'integer')

"""Large fan-outs: PostgreSQL loads their deliveries with COPY, every backend stores the same.

COPY's text format and PostgreSQL's array literals have their own escapes;
recipients whose keys hold a tab, a backslash, a newline, '\\N', a quote, braces
or commas must come back exactly, and a fan-out split in several COPY statements
must lose no row.
"""

from contextlib import nullcontext as _nothing

import pytest

from activitystream import am
from activitystream.storage.sqla import copy, recipients

# keys that COPY's text format, or PostgreSQL's array literals (the recipients' keys are
# read from two of them), must escape
ODD_SLUGS = ['tab\there', 'back\\slash', 'new\nline', 'cr\rhere', '\\N', 'plain', 'é ü']
ODD_SLUGS += ['quote"d', '{a,b}', ' spaced ', 'NULL', '']


@pytest.fixture
def copy_small(monkeypatch):
    """COPY from 1 row, 3 rows a statement: small fan-outs take its path on PostgreSQL."""
    monkeypatch.setattr(copy, 'COPY_FROM', 1)
    monkeypatch.setattr(recipients, 'PAGE', 3)


def test_recipients_with_escaped_characters_read_back_exactly(env, copy_small):
    alice = env.user('alice')
    teams = [env.team(slug) for slug in ODD_SLUGS]
    with env.count_queries() if env.sql else _nothing() as sent:
        action = am.create(alice, 'invited', recipients=teams)
    env.commit()
    if env.backend == 'postgresql':  # COPY goes past SQLAlchemy's statement events
        assert not [s for s in sent if 'INSERT INTO activitystream_deliveries' in s]
    for team in teams:
        assert [a.id for a in am.get_by_recipient(team).all()] == [action.id]
        assert am.count_not_seen_by_recipient(team) == 1
    env.clear_session()
    (found,) = am.get_actions(everything=True).all()
    assert sorted(t.slug if env.sql else t._id for t in found.recipients) == sorted(ODD_SLUGS)


def test_a_fan_out_over_the_copy_threshold_loses_nothing(env):
    alice = env.user('alice')
    people = [env.user(f'u{i}') for i in range(copy.COPY_FROM + 7)]
    env.commit()
    am.create(alice, 'posted', recipients=people)
    env.commit()
    assert [am.count_not_seen_by_recipient(p) for p in (people[0], people[-1])] == [1, 1]
    assert am.get_by_recipient(people[500]).count() == 1
    if env.sql:
        from sqlalchemy import func, select

        from activitystream.storage.sqla.schema import Delivery

        count = env.model.DBSession.execute(select(func.count()).select_from(Delivery)).scalar()
        assert count == len(people)


def test_a_fan_out_just_over_a_page_goes_in_even_pages_all_by_copy(env, monkeypatch):
    """7 recipients, pages of at most 6, COPY from 3 rows: 4 + 3 rows, never 6 + a lone 1
    (which would miss COPY: a whole multi-row INSERT for a fan-out's last few rows)."""
    monkeypatch.setattr(copy, 'COPY_FROM', 3)
    monkeypatch.setattr(recipients, 'PAGE', 6)
    alice = env.user('alice')
    people = [env.user(f'u{i}') for i in range(7)]
    env.commit()
    with env.count_queries() if env.sql else _nothing() as sent:
        am.create(alice, 'posted', recipients=people)
    env.commit()
    if env.backend == 'postgresql':
        assert not [s for s in sent if 'INSERT INTO activitystream_deliveries' in s]
    assert [am.count_not_seen_by_recipient(p) for p in people] == [1] * 7

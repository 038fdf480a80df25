import pytest

from .harness import BACKENDS, drop_postgresql_database, environment


@pytest.fixture(params=BACKENDS)
def env(request):
    """A running host app on each database backend, with empty tables."""
    return environment(request.param)


@pytest.fixture(params=[b for b in BACKENDS if b in ('sqlite', 'postgresql')])
def sqla_env(request):
    """For what only SQLAlchemy has (pending objects, EXPLAIN)."""
    return environment(request.param)


def pytest_sessionfinish(session, exitstatus):
    drop_postgresql_database()

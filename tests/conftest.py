import pytest

from activitystream.delivery import runner

from .harness import BACKENDS, drop_postgresql_database, environment


@pytest.fixture(params=BACKENDS)
def env(request):
    """A running host app on each database backend, with empty tables."""
    return environment(request.param)


@pytest.fixture(params=[b for b in BACKENDS if b in ('sqlite', 'postgresql')])
def sqla_env(request):
    """For what only SQLAlchemy has (pending objects, EXPLAIN)."""
    return environment(request.param)


@pytest.fixture(autouse=True)
def background_workers_allowed(monkeypatch):
    """A gearbox command run in this process turns background workers off: on for each test."""
    monkeypatch.setattr(runner, 'background', True)


def pytest_sessionfinish(session, exitstatus):
    drop_postgresql_database()

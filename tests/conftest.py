import pytest

from .harness import BACKENDS, drop_postgresql_database, environment


@pytest.fixture(params=BACKENDS)
def env(request):
    """A running host app on each database backend, with empty tables."""
    return environment(request.param)


def pytest_sessionfinish(session, exitstatus):
    drop_postgresql_database()

"""alembic's entry point for activitystream's revisions (see activitystream.migration)."""

from alembic import context

from activitystream.migration import run_env

run_env(context)

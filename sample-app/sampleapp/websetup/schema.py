"""Create the tables (SQLAlchemy) or indexes (Ming) of sampleapp and activitystream."""

import transaction

from sampleapp import model


def setup_schema(command, conf, vars):
    model.create_schema()
    transaction.commit()

"""Fill a new database with the demo users and their activity."""

import transaction

from sampleapp import demo_data


def bootstrap(command, conf, vars):
    demo_data.seed()
    transaction.commit()

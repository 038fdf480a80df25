"""Fill a new database with the demo users and their activity."""

import redis
import transaction

from sampleapp import demo_data
from sampleapp.lib import feeds


def bootstrap(command, conf, vars):
    demo_data.seed()
    transaction.commit()
    try:  # timelines of an older database under the same Redis prefix
        feeds.forget_all()
    except redis.RedisError as exc:
        print(f'Redis is not answering ({exc}): timelines of an older database stay there.')

"""A feed manager the Celery workers of tests/test_celery_runner.py import by its name."""

from activitystream.feeds import FanoutPriority, FeedManager, RedisFeed

HIGH = [f'h{n}' for n in range(2000)]
LOW = [f'l{n}' for n in range(1000)]


class Timeline(RedisFeed):
    key_format = 'feed:celery:%(user_id)s'


class Followers(FeedManager):
    """Followers by id only: 2,000 ranked HIGH, 1,000 LOW."""

    feed_classes = {'timeline': Timeline}

    def get_user_follower_ids(self, user_id):
        return {FanoutPriority.HIGH: HIGH, FanoutPriority.LOW: LOW}

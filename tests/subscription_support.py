"""What the subscription tests share: recording backends, a real SMTP server, Redis."""

import contextlib
import email
import email.parser
import os
import socket
import uuid
from email import policy
from email.parser import BytesHeaderParser

from activitystream.subscriptions import BaseBackend

from .harness import _unavailable

REDIS_URL = os.environ.get('ACTIVITYSTREAM_REDIS_URL', 'redis://127.0.0.1:6379/0')
# every key a test run writes starts with this, and is deleted at the end
REDIS_PREFIX = f'activitystream-test-{os.getpid()}-{uuid.uuid4().hex[:8]}'

deliveries = []  # (backend name, recipient, text, kwargs), in order


class Recorder(BaseBackend):
    """Delivers at once, inside the transaction, by remembering the call."""

    deferred = False

    def emit(self, recipient, text, **kwargs):
        deliveries.append((self.name, recipient, text, kwargs))


class LaterRecorder(Recorder):
    """The same, after the host's transaction commits (like e-mail)."""

    deferred = True


class Broken(BaseBackend):
    """Fails for every recipient, as a backend whose server is down would."""

    def emit(self, recipient, text, **kwargs):
        raise ConnectionError('the server is down')


class FailsForBob(Recorder):
    """Fails for one recipient only."""

    def emit(self, recipient, text, **kwargs):
        if getattr(recipient, 'user_name', '').startswith('bob'):
            raise ValueError('no channel to bob')
        super().emit(recipient, text, **kwargs)


def recorded(backend=None):
    """(recipient name, text) of the deliveries recorded so far, by backend."""
    return [
        (getattr(r, 'user_name', None) or r.name, text)
        for name, r, text, _ in deliveries
        if backend in (None, name)
    ]


def free_port():
    """A port nothing listens on (now): a server that is down."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Mailbox:
    """What a real SMTP server (aiosmtpd) received, as parsed messages.

    It refuses the addresses that start with ``refused``.
    """

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('refused'):
            return '550 no such mailbox'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return '250 OK'


class Headers(Mailbox):
    """Keeps each mail's headers only, parsed cheaply: for thousands of mails."""

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesHeaderParser().parsebytes(envelope.content))
        return '250 OK'


@contextlib.contextmanager
def smtp_server(port=None, mailbox=None):
    """A real SMTP server on 127.0.0.1 while the block runs: yields (mailbox, port)."""
    from aiosmtpd.controller import Controller

    mailbox, port = mailbox or Mailbox(), port or free_port()
    controller = Controller(mailbox, hostname='127.0.0.1', port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def smtp_config(port):
    return {
        'activitystream.smtp_host': '127.0.0.1',
        'activitystream.smtp_port': str(port),
        'activitystream.smtp_from': 'notifications@example.com',
        'activitystream.smtp_timeout': '5',
    }


def redis_client():
    """The test Redis, or skip (fail under CI=true) when it is not running."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable('Redis', exc)
    return client


def drop_redis_keys(client, prefix=REDIS_PREFIX):
    keys = list(client.scan_iter(match=f'{prefix}*', count=500))
    if keys:
        client.delete(*keys)


class LaterFailsForBob(FailsForBob):
    """The same, after the commit."""

    deferred = True

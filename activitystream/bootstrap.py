"""Run by the host's ``gearbox setup-app`` after its own bootstrap (tgext.pluggable)."""

import logging

log = logging.getLogger(__name__)


def bootstrap(command, conf, vars):
    """Tables come with the host's metadata; Ming indexes are ensured here."""
    from . import model

    model.storage()
    log.info('activitystream: storage ready (%s)', model.backend)

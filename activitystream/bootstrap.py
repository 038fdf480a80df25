"""Run by the host's ``gearbox setup-app`` after its own bootstrap (tgext.pluggable)."""

import logging

log = logging.getLogger(__name__)


def bootstrap(command, conf, vars):
    """Tables come with the host's metadata; then the schema is migrated to the newest.

    A fresh database is stamped at the newest revision, an older one upgraded
    (activitystream.migration); on Ming the versioned steps run and the indexes are ensured.
    """
    from . import model
    from .migration import upgrade_site

    model.storage()
    log.info('activitystream: storage ready (%s); %s', model.backend, upgrade_site())

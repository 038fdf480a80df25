"""Run by the host's ``gearbox setup-app`` after its own bootstrap (tgext.pluggable)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def bootstrap(command: Any, conf: Any, vars: Any) -> None:
    """Tables come with the host's metadata; then the schema is migrated to the newest.

    A fresh database is stamped at the newest revision, an older one upgraded
    (activitystream.migration); on Ming the versioned steps run and the indexes are ensured.
    """
    from . import model
    from .migration import upgrade_site

    model.storage()
    log.info('activitystream: storage ready (%s); %s', model.backend, upgrade_site())

"""The TG2 host application of the benchmark (minghost)."""

from . import controllers, lib, model, websetup  # noqa: F401 - TG looks them up as attributes
from .lib import app_globals, helpers  # noqa: F401

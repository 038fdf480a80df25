"""The application's Globals object."""

__all__ = ['Globals']


class Globals:
    """Nothing is shared between requests: TG just expects the class to exist."""

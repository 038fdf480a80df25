class Globals:
    """The host keeps no globals."""

class Globals:
    """The bench host keeps no globals."""

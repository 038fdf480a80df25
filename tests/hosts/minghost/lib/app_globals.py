class Globals:
    """The test host keeps no globals."""

def bootstrap(command, conf, vars):
    """The host's own bootstrap: nothing to create (tests and bench make their data)."""

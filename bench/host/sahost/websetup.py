def bootstrap(command, conf, vars):
    """The host's own bootstrap: the bench loads its data itself."""

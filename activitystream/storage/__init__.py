"""Storage backends: ``base`` is the contract, ``sqla`` and ``ming`` implement it."""

"""The activitystream benchmark: our API against hand-written SQL at 60k users / 500k actions.

Run ``python -m bench --help`` (or ``make bench-small`` / ``make bench``).
"""

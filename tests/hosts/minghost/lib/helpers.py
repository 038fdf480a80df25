"""Template helpers of the test host (tgext.pluggable adds h.activitystream)."""

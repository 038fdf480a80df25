"""Template helpers of the bench host (tgext.pluggable adds h.activitystream)."""

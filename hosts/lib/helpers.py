"""Template helpers of the host (tgext.pluggable adds h.activitystream)."""

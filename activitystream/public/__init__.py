"""Static files, served by tgext.pluggable at /_pluggable/activitystream/."""

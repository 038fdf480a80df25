"""sampleapp: a small TurboGears2 site with tgapp-activitystream plugged in."""

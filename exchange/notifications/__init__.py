"""Notifications: an in-app centre for every account, plus email and SMS behind interfaces."""

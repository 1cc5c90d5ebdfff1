"""Watchers of an order: the input that lists them (its name is the modal's block id) and how
many an order may have."""

WATCHER_USERS = "watcher_users"
#: More than this is a team: a notify channel serves it better.
MAX_WATCHERS = 20

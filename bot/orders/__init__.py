"""Service functions used by handlers, jobs and the CLI alike; each owns its transaction."""

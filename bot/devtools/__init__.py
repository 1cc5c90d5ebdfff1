"""Tools for development, tests and the demo: never used by a production certdesk."""

"""Benchmarks: scripts that print figures and ratios (run them with `python -m bench.<name>`)."""

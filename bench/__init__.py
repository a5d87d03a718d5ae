"""Benchmarks (a measurement, not a test): `python -m bench.run` or `make bench`."""

"""Benchmarks (run with `python -m bench NAME`); results in bench/results/."""

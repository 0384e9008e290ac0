"""Fault-injection scenarios, shared by the short runs in ``tests/faults/`` (``make test``)
and the long runs of ``python -m bench faults`` (results in ``bench/results/faults.md``).

Each scenario is one function with its size as a parameter, so the suite and the bench
run the same code: a scenario returns a small result object with the figures to report
and the invariants to assert (nothing lost, nothing crashed).
"""

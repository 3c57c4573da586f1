"""Benchmarks of the platform (``make bench`` runs each ``bench_*.py`` as a module) and the
support they share with the tests (:mod:`bench.support`). Not part of the product."""

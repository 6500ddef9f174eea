"""Siaga's benchmarks: an open-model load generator against a real ``siaga serve`` process, with baselines measured
in the same run. ``make bench`` runs them; ``python -m benchmarks --help`` says how to scale them."""

"""Benchmarks: figures printed by ``python bench/run.py``; never timed tests."""

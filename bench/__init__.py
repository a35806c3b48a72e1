"""Benchmarks of nngrade (python bench/run.py), and the generated classes they grade."""

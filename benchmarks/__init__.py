"""Benchmarks for django-authstatus; see benchmarks/README.md. Run from the repository root."""

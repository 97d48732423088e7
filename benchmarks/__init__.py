"""Benchmark scripts (run each as a script; none is a test). A package so that one may reuse another's data
builders (``benchmarks.bench_store_write.sites``) and mypy names each module once."""

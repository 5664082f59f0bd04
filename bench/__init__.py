"""Benchmarks (``python -m bench <name>``).  Each prints ratios measured in the same run and, as its
last line, one JSON object with the figures."""

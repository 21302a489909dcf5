"""Benchmarks: how the sweep, the digests, the feeds and the importers grow with size.

Run with `python -m benchmarks --scale {small,100k,1m}`; every figure is reported with a floor
measured in the same run, and their ratio (README, "Performance").
"""

"""Shared I/O engines: thread pools, the batch engine and the range engine."""

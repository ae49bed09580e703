"""Asynchronous jobs: work that finishes after its 202 answer, and a record of how it ended."""

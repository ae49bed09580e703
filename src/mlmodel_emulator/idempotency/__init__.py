"""Idempotent retries: the Idempotency-Key header, and the answers it replays."""

"""Compatibility tests that drive the official OpenMetadata Python client."""

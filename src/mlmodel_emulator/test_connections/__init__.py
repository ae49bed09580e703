"""Test connection definitions: what OpenMetadata asks a connection test to run."""

"""mlmodel-emulator: OpenMetadata's ML Model Service REST API as a small standalone service."""

__version__ = "0.1.0"

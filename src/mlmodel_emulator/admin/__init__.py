"""The emulator's own surface for tests and stacks: state reset and its admin routes."""

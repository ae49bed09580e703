"""Pure helpers shared by every resource: wire base models, FQNs, cursors, versioning."""

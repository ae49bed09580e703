"""Authentication: signing keys, JWT minting and verification, the calling principal."""

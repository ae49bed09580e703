"""System endpoints: server version and the JWKS."""

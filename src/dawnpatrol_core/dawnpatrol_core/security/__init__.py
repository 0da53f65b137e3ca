"""Who may command a robot: Ed25519 keys, the operator registry and roles, signed command
envelopes with replay protection (see docs/security.md)."""

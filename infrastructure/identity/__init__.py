"""Who is calling: access and refresh tokens (JWT, revocation in Redis), staff credentials and
device credentials (Argon2 hashes in PostgreSQL)."""

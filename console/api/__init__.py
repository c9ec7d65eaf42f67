"""The REST API foundation: token auth, idempotency, errors, throttling, schema."""

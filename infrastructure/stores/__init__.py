"""Write-side tables behind application ports, written in the events' transaction (side writes) or
beside it: customer profiles, idempotency keys."""

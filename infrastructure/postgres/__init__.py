"""PostgreSQL plumbing shared by every adapter: connections and the event store, the recorder,
roles and row-level security, read-model tables and migrations, tracking positions, the doorbell,
single-active roles."""

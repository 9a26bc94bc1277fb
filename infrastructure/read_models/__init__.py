"""One module per read model: its PostgreSQL writer (called by the projection runner inside the
batch's transaction) and its queries (under row-level security), side by side."""

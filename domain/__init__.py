"""SmartQueue's domain: aggregates, their events, pure policies and errors. No I/O here."""

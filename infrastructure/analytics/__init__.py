"""The downstream analytics sink: a reference consumer of the published event stream that keeps
every event, once, in a DuckDB file (``smartqueue analytics-sink``, docs/analytics-sink.md).

It stands where an analytics team would: on the Kafka contract alone, never on SmartQueue's
database (an import-linter contract keeps it so)."""

"""Kafka: the broker (embedded or external), the published event contract, the relay (log to
Kafka) and the display gateway (Kafka to Redis), and what their clients share."""

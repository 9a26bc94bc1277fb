"""What every Kafka client of SmartQueue shares: consumer-group settings, topic creation, the
readiness probe, and keeping kafka-python's noise down."""

from __future__ import annotations

import logging
import socket
import warnings

from infrastructure.kafka.contract import topics
from infrastructure.settings import KafkaSettings

# Consumer settings that make a group join in ~3 s instead of 20+ (see docs/events.md).
FAST_GROUP = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "max_poll_interval_ms": 10000,
}


def quiet_kafka_python() -> None:
    """kafka-python narrates every connection at INFO and loads its protocol schemas with
    deprecated importlib calls: keep its warnings and errors, drop the rest. Called by each role
    that talks to Kafka as it starts (never at import, so importing a module changes nothing)."""
    logging.getLogger("kafka").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"kafka(\.|$)")


def ensure_topics(settings: KafkaSettings) -> None:
    """Create the contract's topics that do not exist yet (existing ones are left alone)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="smartqueue-relay-admin"
    )
    try:
        existing = set(admin.list_topics())
        missing = [topic for topic in topics() if topic not in existing]
        if missing:
            admin.create_topics(
                {
                    topic: {
                        "num_partitions": settings.topic_partitions,
                        "replication_factor": settings.replication_factor,
                    }
                    for topic in missing
                },
                raise_errors=False,
            )
    finally:
        admin.close()


def broker_reachable(bootstrap_servers: str, timeout: float = 1.0) -> str:
    """``ok`` if a TCP connection to some bootstrap server opens, else why not. A cheap probe
    for readiness: a full Kafka handshake per request would cost seconds when it is down."""
    last = "no bootstrap server"
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection(
                (host.strip("[]") or "localhost", int(port)), timeout=timeout
            ):
                return "ok"
        except (OSError, ValueError) as error:
            last = f"unavailable: {type(error).__name__}"
    return last

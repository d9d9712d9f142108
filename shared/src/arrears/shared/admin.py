"""Operational one-shots for deployments: `python -m arrears.shared.admin topics`.

Creates every Arrears topic and its dead-letter twin (idempotent), with the partitions and
replication factor of the ARREARS_ settings. A service's own migrations run at its start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arrears.shared.admin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("topics", help="create every topic and its .dlq twin")
    parser.parse_args(argv)
    settings = ServiceSettings()
    created = asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap,
            topic_names(settings),
            partitions=settings.topic_partitions,
            replication=settings.topic_replication,
        )
    )
    print(f"topics ready on {settings.kafka_bootstrap}: {len(created)} created")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())

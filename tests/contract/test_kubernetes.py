"""deploy/k8s, checked offline: every overlay renders (here in Python, and with kustomize where
it is installed: both must agree), every manifest is valid against the Kubernetes schemas,
and the rendered overlays name every service, port, probe and setting the code defines."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
import yaml

from arrears.shared.clock import SystemClock
from arrears.shared.service import DRAIN_SECONDS
from arrears.shared.settings import ServiceSettings
from tests.contract.kustomize import containers, render
from tests.contract.services import SERVICES, default_port, settings_class

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.32.0"
"""The oldest Kubernetes the manifests are for (a preStop `sleep` needs 1.30)."""

Doc = dict[str, Any]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Doc]]:
    return request.param, render(K8S / "overlays" / request.param)


def by_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def keyed(docs: list[Doc]) -> dict[tuple[str, str], Doc]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def test_the_overlays_exist() -> None:
    assert {"production", "staging"} <= set(OVERLAYS)


@pytest.mark.parametrize("name", OVERLAYS)
def test_kustomize_renders_what_the_python_renderer_renders(name: str) -> None:
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: only the Python rendering ran")
    done = subprocess.run(
        [*command, str(K8S / "overlays" / name)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    real = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert keyed(real) == keyed(render(K8S / "overlays" / name))


def test_every_manifest_is_valid_kubernetes(overlay: tuple[str, list[Doc]]) -> None:
    _name, docs = overlay
    assert len(keyed(docs)) == len(docs), "two resources share a kind and name"
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def settings_seen_by(docs: list[Doc], container: Doc) -> dict[str, str]:
    """The ARREARS_* environment a container gets: ConfigMaps, Secrets and its own env."""
    maps, secrets = by_kind(docs, "ConfigMap"), by_kind(docs, "Secret")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
        else:
            env.update(secrets[source["secretRef"]["name"]]["stringData"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            env[variable["name"]] = secrets[ref["name"]]["stringData"][ref["key"]]
    return env


GATEWAY_METRICS_PORT = 9100


def check_settings(service: str, env: dict[str, str]) -> ServiceSettings:
    fields = settings_class(service).model_fields
    for variable in env:
        assert variable.startswith("ARREARS_"), variable
        assert variable.removeprefix("ARREARS_").lower() in fields, f"{service}: {variable}"
    values = {k.removeprefix("ARREARS_").lower(): v for k, v in env.items() if v != ""}
    settings = settings_class(service)(**values)
    assert settings.environment == "production"
    return settings


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_its_deployment_ports_probes_and_settings(
    overlay: tuple[str, list[Doc]], service: str
) -> None:
    _name, docs = overlay
    port = default_port(service)
    deployment = by_kind(docs, "Deployment")[service]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # The gateway's HTTP port is public: its metrics have a port of their own.
    metrics_port = GATEWAY_METRICS_PORT if service == "gateway" else port
    assert pod["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(metrics_port),
        "prometheus.io/path": "/metrics",
    }
    (container,) = pod["spec"]["containers"]
    assert container["image"].split(":")[0].endswith(f"arrears-{service}")
    ports = [{"name": "http", "containerPort": port}]
    if metrics_port != port:
        ports.append({"name": "metrics", "containerPort": metrics_port})
    assert container["ports"] == ports
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}, kind
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["spec"]["terminationGracePeriodSeconds"] > pre_stop + DRAIN_SECONDS

    settings = check_settings(service, settings_seen_by(docs, container))
    assert settings.http_port == port
    assert settings.metrics_port == (None if metrics_port == port else metrics_port)
    assert settings.migrate_on_start is False, "the migration Job upgrades the schemas"
    for other in SERVICES:
        if f"{other}_url" in settings_class(service).model_fields:
            assert getattr(settings, f"{other}_url") == f"http://{other}:{default_port(other)}"

    kube_service = by_kind(docs, "Service")[service]
    assert kube_service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
    assert kube_service["spec"]["selector"].items() <= labels.items()
    budget = by_kind(docs, "PodDisruptionBudget")[service]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_migration_job_creates_the_topics_then_migrates_every_schema(
    overlay: tuple[str, list[Doc]],
) -> None:
    _name, docs = overlay
    job = by_kind(docs, "Job")["arrears-migrate"]
    steps = containers(job)
    spec = job["spec"]["template"]["spec"]
    ordered = [*spec["initContainers"], *spec["containers"]]
    first, *rest = ordered
    assert first["args"] == ["python3", "-m", "arrears.shared.admin", "topics"]
    migrated = {c["args"][2].removeprefix("arrears."): c for c in rest}
    assert all(c["args"][:2] + c["args"][3:] == ["python3", "-m", "migrate"] for c in rest)
    assert set(migrated) == set(SERVICES)
    for service, container in migrated.items():
        assert container["image"].split(":")[0].endswith(f"arrears-{service}")
        check_settings(service, settings_seen_by(docs, container))
    assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in steps)


def consumes(service: str) -> bool:
    spec = importlib.import_module(f"arrears.{service}.app").SPEC
    return bool(spec.projections(SimpleNamespace(clock=SystemClock())))


def test_projections_scale_out_to_at_most_one_instance_per_partition(
    overlay: tuple[str, list[Doc]],
) -> None:
    _name, docs = overlay
    config = by_kind(docs, "ConfigMap")["arrears-config"]["data"]
    partitions = int(config["ARREARS_TOPIC_PARTITIONS"])
    autoscalers = by_kind(docs, "HorizontalPodAutoscaler")
    deployments = by_kind(docs, "Deployment")
    for name, hpa in autoscalers.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name
    for service in SERVICES:
        if consumes(service):
            spec = autoscalers[service]["spec"]
            assert 1 <= spec["minReplicas"] <= spec["maxReplicas"] <= partitions, service


def test_only_the_gateway_is_reachable_from_outside(overlay: tuple[str, list[Doc]]) -> None:
    _name, docs = overlay
    policies = list(by_kind(docs, "NetworkPolicy").values())
    assert any(
        p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        for p in policies
    ), "a default-deny policy"
    open_to_all = [
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for p in policies
        for rule in p["spec"].get("ingress", [])
        if "from" not in rule
    ]
    assert open_to_all == ["gateway"]
    egress_ports = {
        port["port"]
        for p in policies
        for rule in p["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }
    assert {5432, 9092} <= egress_ports, "PostgreSQL and Kafka"

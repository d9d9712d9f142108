"""The Prometheus configuration, alert rules and Grafana dashboard shipped in deploy/: valid
for promtool (Debian's prometheus package; skipped with the reason where it is absent), the
alerts behave as their unit tests say, and every metric they query is one the code exports."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.contract.services import SERVICES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
METRIC = re.compile(r"\barrears_[a-z_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    done = subprocess.run(
        [tool, *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_accepts_the_configuration_and_the_rules() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in promtool("check", "rules", "alerts.yml")


def test_the_alerts_fire_as_their_unit_tests_expect() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def exported_samples() -> set[str]:
    """Every sample name the services' metrics can produce."""
    for service in SERVICES:
        importlib.import_module(f"arrears.{service}.app")
    importlib.import_module("arrears.ledger.relay")
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def queried() -> dict[str, set[str]]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    found = {
        f"alert {rule['alert']}": set(METRIC.findall(rule["expr"]))
        for group in rules["groups"]
        for rule in group["rules"]
    }
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                found[f"{path.name}: {panel['title']}"] = set(METRIC.findall(target["expr"]))
    return found


def test_alerts_and_dashboards_query_only_metrics_the_code_exports() -> None:
    exported = exported_samples()
    assert "arrears_http_request_duration_seconds_bucket" in exported
    unknown = {where: names - exported for where, names in queried().items() if names - exported}
    assert not unknown
    assert sum(bool(names) for names in queried().values()) >= 20


def test_grafana_provisions_the_dashboards_compose_mounts() -> None:
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/arrears.yml").read_text()
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in mounts
    assert (
        "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"
        in (compose["services"]["prometheus"]["volumes"])
    )

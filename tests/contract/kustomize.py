"""Renders a kustomization offline, without a kustomize binary: the subset deploy/k8s uses
(resources, namespace, images, replicas, JSON 6902 patches). A key outside that subset is an
error, never silently ignored; where kubectl or kustomize is installed, the suite checks that
this renderer and the real one agree."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}
WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet"}

Doc = dict[str, Any]


def render(directory: Path) -> list[Doc]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: kustomization keys this renderer lacks: {unknown}")
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            docs += render(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for patch in kustomization.get("patches", []):
        operations = yaml.safe_load(patch["patch"])
        for doc in docs:
            if _targets(doc, patch["target"]):
                for operation in operations:
                    _apply(doc, operation)
    for replica in kustomization.get("replicas", []):
        for doc in docs:
            if doc["kind"] in WORKLOADS and doc["metadata"]["name"] == replica["name"]:
                doc["spec"]["replicas"] = replica["count"]
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in containers(doc):
                if container["image"].split(":")[0] == image["name"]:
                    name = image.get("newName", image["name"])
                    tag = image.get("newTag", container["image"].partition(":")[2])
                    container["image"] = f"{name}:{tag}" if tag else name
    if "namespace" in kustomization:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


def containers(doc: Doc) -> list[Doc]:
    """Every container and init container of a workload or job."""
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    found: list[Doc] = pod.get("containers", []) + pod.get("initContainers", [])
    return found


def _targets(doc: Doc, target: Doc) -> bool:
    return (
        doc["kind"] == target["kind"]
        and target.get("name", doc["metadata"]["name"]) == (doc["metadata"]["name"])
    )


def _apply(doc: Doc, operation: Doc) -> None:
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
    ]
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) and last != "-" else last
    if operation["op"] == "remove":
        del node[key]
    elif operation["op"] == "replace":
        if isinstance(node, dict) and key not in node:
            raise KeyError(f"replace of a missing {operation['path']}")
        node[key] = copy.deepcopy(operation["value"])
    elif operation["op"] == "add":
        if isinstance(node, list):
            node.insert(len(node) if key == "-" else key, copy.deepcopy(operation["value"]))
        else:
            node[key] = copy.deepcopy(operation["value"])
    else:
        raise ValueError(f"JSON patch operation {operation['op']} is not supported here")

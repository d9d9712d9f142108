"""docs/events is exactly what `export()` generates from the current models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arrears.shared.events.registry import ALL_EVENTS
from arrears.shared.schema_export import asyncapi_document, export
from arrears.shared.topics import ALL_TOPICS

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "events"
HINT = "docs/events is stale: run `./arrears schema export` and commit the result"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_export_writes_one_schema_per_event_plus_asyncapi_and_catalogue(tmp_path: Path) -> None:
    written = export(tmp_path)
    names = {path.relative_to(tmp_path).as_posix() for path in written}
    assert {"asyncapi.json", "catalogue.md", "schemas/InvoicePosted.v1.json"} <= names
    assert set(_tree(tmp_path)) == names
    for path in written:
        assert path.read_bytes().endswith(b"\n")


def test_export_is_deterministic_and_removes_stale_schemas(tmp_path: Path) -> None:
    first = tmp_path / "a"
    export(first)
    (first / "schemas" / "Gone.v1.json").write_text("{}\n")
    export(first)
    second = tmp_path / "b"
    export(second)
    assert _tree(first) == _tree(second)


def test_docs_events_are_up_to_date(tmp_path: Path) -> None:
    export(tmp_path)
    expected = _tree(tmp_path)
    actual = _tree(DOCS) if DOCS.is_dir() else {}
    assert sorted(actual) == sorted(expected), HINT
    stale = [name for name in expected if actual[name] != expected[name]]
    assert stale == [], f"{HINT} (differs: {', '.join(stale)})"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_asyncapi_references_resolve() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    refs = set(_refs(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        target: Any = document
        for part in ref[2:].split("/"):
            assert isinstance(target, dict) and part in target, f"dangling {ref}"
            target = target[part]


def test_asyncapi_has_a_channel_per_topic_and_a_message_per_event() -> None:
    document = asyncapi_document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {topic.name for topic in ALL_TOPICS}
    assert set(document["components"]["messages"]) == {f"{c.__name__}.v1" for c in ALL_EVENTS}
    actions = sorted(op["action"] for op in document["operations"].values())
    assert actions == sorted(["send", "receive"] * len(ALL_TOPICS))


def test_asyncapi_describes_every_header_the_codec_writes() -> None:
    document = asyncapi_document()
    described = document["components"]["schemas"]["CloudEventsHeaders"]["properties"]
    for message in document["components"]["messages"].values():
        for example in message["examples"]:
            assert set(example["headers"]) <= set(described)

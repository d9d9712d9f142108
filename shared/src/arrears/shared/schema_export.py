"""Published forms of the event contract, generated from the models.

- `event_json_schemas()`: one JSON Schema (draft 2020-12, serialization mode) per event
  type and version;
- `asyncapi_document()`: an AsyncAPI 3.0.0 document with one channel per topic;
- `catalogue_markdown()`: the human-readable event catalogue;
- `export(directory)`: writes all three, deterministically, for `docs/events`;
- `snapshot()`, `check_compatible()`, `update_lock()`: the backward-compatibility check
  against the checked-in `events/contract-lock.json`.

Everything here is a pure function of the models (and the sample events).
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from arrears.shared.codec import CE_SPECVERSION, CONTENT_TYPE, cloudevents_headers
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.events.registry import ALL_EVENTS
from arrears.shared.events.samples import sample_events
from arrears.shared.money import Money
from arrears.shared.topics import ALL_TOPICS, Topic

JsonSchema = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
CONTRACT_VERSION = "1.0.0"
"""Version of the published contract as a whole (the `info.version` of the AsyncAPI)."""
KAFKA_BINDING_VERSION = "0.5.0"
DEFAULT_PARTITIONS = 12
LOCK_PATH = Path(__file__).parent / "events" / "contract-lock.json"
LOCK_FORMAT = 1
KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,20}/[^/\s][^/]*$"


# ---------------------------------------------------------------------------- helpers


class ContractJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, marking decimals (serialized as strings) with format 'decimal'."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        json_schema = super().decimal_schema(schema)
        if self.mode == "serialization":
            json_schema["format"] = "decimal"
        return json_schema


def model_schema(cls: type[BaseModel]) -> JsonSchema:
    """The serialization-mode JSON Schema of a model, as published."""
    return cls.model_json_schema(mode="serialization", schema_generator=ContractJsonSchema)


def event_key(cls: type[Event]) -> str:
    """'InvoicePosted.v1' for an event class."""
    type_name, version = event_types_of(cls)
    return f"{type_name}.v{version}"


def dump_json(document: Any) -> str:
    """The canonical text of a generated JSON file: sorted keys, 2 spaces, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _doc(obj: type[Any]) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def _summary(obj: type[Any]) -> str:
    return _doc(obj).split("\n\n", 1)[0].replace("\n", " ")


def _events_of(topic: Topic) -> list[type[Event]]:
    return [cls for cls in ALL_EVENTS if cls.topic == topic]


def _channel_id(topic: Topic) -> str:
    # 'arrears.invoices.v1' -> 'invoices'
    return topic.name.removeprefix("arrears.").rsplit(".v", 1)[0].replace(".", "_")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------- JSON Schema


def event_json_schemas() -> dict[str, JsonSchema]:
    """One JSON Schema (serialization mode) per event, keyed like 'InvoicePosted.v1'."""
    schemas: dict[str, JsonSchema] = {}
    for cls in ALL_EVENTS:
        schema = model_schema(cls)
        schemas[event_key(cls)] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "x-topic": cls.topic.name,
            **schema,
        }
    return schemas


# ---------------------------------------------------------------------------- AsyncAPI


def _headers_schema() -> JsonSchema:
    def string(description: str, **extra: Any) -> JsonSchema:
        return {"type": "string", "description": description, **extra}

    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka protocol binding, binary content mode.",
        "required": [
            "ce_id",
            "ce_type",
            "ce_source",
            "ce_specversion",
            "ce_time",
            "ce_subject",
            "content-type",
        ],
        "properties": {
            "ce_id": string("Equals the envelope's `event_id`.", format="uuid"),
            "ce_type": string("Equals the envelope's `type`, e.g. 'InvoicePosted'."),
            "ce_source": string(
                "The producing service as a URI reference, e.g. '/arrears/ledger'."
            ),
            "ce_specversion": string("CloudEvents version.", const=CE_SPECVERSION),
            "ce_time": string("Equals the envelope's `recorded_at` (UTC).", format="date-time"),
            "ce_subject": string("The stream: '{company}/{customer_id}', equal to the key."),
            "ce_schemaversion": string("Extension: the envelope's `schema_version`."),
            "ce_sequence": string("Extension: the envelope's `sequence`."),
            "ce_correlationid": string("Extension: the envelope's `correlation_id`, if any."),
            "content-type": string("Media type of the value.", const=CONTENT_TYPE),
        },
    }


def _key_schema() -> JsonSchema:
    return {
        "type": "string",
        "pattern": KEY_PATTERN,
        "description": (
            "'{company}/{customer_id}': one customer's events keep their order within a topic."
        ),
        "examples": ["usmf/US-001"],
    }


def _example(event: Event) -> dict[str, Any]:
    producer = event.topic.producer
    return {
        "name": f"{event.type}-example",
        "headers": cloudevents_headers(event, source=f"/arrears/{producer}"),
        "payload": json.loads(event.model_dump_json()),
    }


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0.0 document describing every topic, message and operation."""
    refs, top = models_json_schema(
        [(cls, "serialization") for cls in ALL_EVENTS],
        ref_template="#/components/schemas/{model}",
        schema_generator=ContractJsonSchema,
    )
    schemas: dict[str, JsonSchema] = dict(top.get("$defs", {}))
    if "CloudEventsHeaders" in schemas:
        raise RuntimeError("a model is named CloudEventsHeaders")
    schemas["CloudEventsHeaders"] = _headers_schema()
    examples = {event.type: event for event in sample_events()}

    messages: dict[str, Any] = {}
    for cls in ALL_EVENTS:
        type_name, version = event_types_of(cls)
        message: dict[str, Any] = {
            "name": type_name,
            "title": f"{type_name} v{version}",
            "summary": _summary(cls),
            "description": _doc(cls),
            "contentType": CONTENT_TYPE,
            "headers": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventsHeaders"},
                    {
                        "type": "object",
                        "properties": {
                            "ce_type": {"const": type_name},
                            "ce_schemaversion": {"const": str(version)},
                        },
                    },
                ]
            },
            "payload": refs[(cls, "serialization")],
            "bindings": {"$ref": "#/components/messageBindings/kafkaKey"},
        }
        if type_name in examples and examples[type_name].schema_version == version:
            message["examples"] = [_example(examples[type_name])]
        messages[event_key(cls)] = message

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in ALL_TOPICS:
        channel_id = _channel_id(topic)
        keys = [event_key(cls) for cls in _events_of(topic)]
        channels[channel_id] = {
            "address": topic.name,
            "title": topic.name,
            "description": (
                f"{topic.description} Produced by the {topic.producer} service. "
                f"Messages a consumer cannot process go to `{topic.dlq}`."
            ),
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "partitions": DEFAULT_PARTITIONS,
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
            "x-producer": topic.producer,
            "x-dlq": topic.dlq,
        }
        channel_messages = [{"$ref": f"#/channels/{channel_id}/messages/{key}"} for key in keys]
        operations[f"send_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "title": f"Publish to {topic.name}",
            "summary": f"The {topic.producer} service publishes these events.",
            "messages": channel_messages,
        }
        operations[f"receive_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "title": f"Consume {topic.name}",
            "summary": (
                "Consumers read in order per key, dedupe on `event_id`, and commit offsets "
                "only after processing; one consumer group per service."
            ),
            "messages": channel_messages,
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Arrears events",
            "version": CONTRACT_VERSION,
            "description": (
                "Events of Arrears, the accounts-receivable collections platform. Every "
                "message value is the JSON of one event envelope; the key is "
                "'{company}/{customer_id}'; CloudEvents binary-mode headers describe it."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "messageBindings": {
                "kafkaKey": {
                    "kafka": {"key": _key_schema(), "bindingVersion": KAFKA_BINDING_VERSION}
                }
            },
        },
    }


# ---------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _resolve(schema: JsonSchema, defs: Mapping[str, JsonSchema]) -> JsonSchema:
    ref = schema.get("$ref")
    return defs[_ref_name(ref)] if isinstance(ref, str) else schema


def _is_model(schema: JsonSchema) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def _type_label(schema: JsonSchema, defs: Mapping[str, JsonSchema]) -> str:
    """A short human-readable type for a property schema."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs[_ref_name(ref)]
        if "enum" in target:
            return _type_label(target, defs)
        return f"`{_ref_name(ref)}`"
    if "anyOf" in schema:
        members = [m for m in schema["anyOf"] if m.get("type") != "null"]
        label = " or ".join(_type_label(m, defs) for m in members)
        nullable = len(members) < len(schema["anyOf"])
        return f"{label} or null" if nullable else label
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type_label(schema.get('items', {}), defs)}"
    if kind is None:
        return "any"
    label = str(kind)
    if "format" in schema:
        label = f"{label} ({schema['format']})"
    bounds = []
    if "minimum" in schema:
        bounds.append(f"≥ {schema['minimum']}")
    if "maximum" in schema:
        bounds.append(f"≤ {schema['maximum']}")
    if bounds:
        label = f"{label} {', '.join(bounds)}"
    return label


def _property_description(prop: JsonSchema) -> str:
    description = prop.get("description")
    if description is None and "anyOf" in prop:
        description = next((m["description"] for m in prop["anyOf"] if "description" in m), None)
    return str(description or "")


def _fields_table(model: JsonSchema, defs: Mapping[str, JsonSchema]) -> list[str]:
    required = set(model.get("required", ()))
    lines = ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    for name, prop in model.get("properties", {}).items():
        lines.append(
            f"| `{name}` | {_cell(_type_label(prop, defs))} | "
            f"{'yes' if name in required else 'no'} | {_cell(_property_description(prop))} |"
        )
    return lines


def _referenced_models(schema: JsonSchema, defs: Mapping[str, JsonSchema]) -> Iterator[str]:
    """Names of the models referenced from `schema`, depth first, in order of appearance."""
    seen: set[str] = set()

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = _ref_name(ref)
                if name not in seen:
                    seen.add(name)
                    yield name
                    yield from walk(defs[name])
            for key, value in node.items():
                if key != "$ref":
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(schema)


def _event_section(cls: type[Event], example: Event | None) -> list[str]:
    type_name, version = event_types_of(cls)
    schema = model_schema(cls)
    defs: dict[str, JsonSchema] = schema.get("$defs", {})
    data_ref = schema["properties"]["data"]
    data_name = _ref_name(data_ref["$ref"])
    data = defs[data_name]
    lines = [f"### {type_name} (v{version})", "", _doc(cls), ""]
    if data.get("description"):
        lines += [inspect.cleandoc(data["description"]), ""]
    lines += ["`data` fields:", "", *_fields_table(data, defs), ""]
    for name in _referenced_models(data, defs):
        nested = defs[name]
        if name == data_name or name == Money.__name__ or not _is_model(nested):
            continue
        lines += [f"#### `{name}`", ""]
        if nested.get("description"):
            lines += [_cell(nested["description"]), ""]
        lines += [*_fields_table(nested, defs), ""]
    if example is not None:
        lines += [
            "<details><summary>Example</summary>",
            "",
            "```json",
            example.model_dump_json(indent=2),
            "```",
            "",
            "</details>",
            "",
        ]
    return lines


def _intro() -> list[str]:
    envelope = model_schema(Event)
    money = model_schema(Money)
    headers = _headers_schema()
    header_required = set(headers["required"])
    lines = [
        "# Arrears event catalogue",
        "",
        "<!-- Generated by `./arrears schema export` from arrears.shared.events; "
        "do not edit by hand. -->",
        "",
        "Every fact in Arrears is an immutable event. This catalogue lists every event type, "
        "topic by topic, generated from the pydantic models in `arrears.shared.events`. The "
        "machine-readable forms sit next to it: `schemas/<Type>.v<N>.json` (JSON Schema "
        "2020-12, one per event type and version) and `asyncapi.json` (AsyncAPI 3.0.0).",
        "",
        "## Envelope",
        "",
        "Every event has the same envelope; `type` and `schema_version` select the model of "
        "`data`.",
        "",
        *_fields_table(envelope, envelope.get("$defs", {})),
        "",
        "## On Kafka",
        "",
        "- **Key**: `{company}/{customer_id}`, so one customer's events keep their order "
        "within a topic (not across topics: a settlement can arrive before its invoice).",
        "- **Value**: the JSON of the envelope, UTF-8.",
        "- **Headers**: CloudEvents 1.0, Kafka binary content mode:",
        "",
        "| header | required | meaning |",
        "| --- | --- | --- |",
    ]
    for name, prop in headers["properties"].items():
        lines.append(
            f"| `{name}` | {'yes' if name in header_required else 'no'} | "
            f"{_cell(prop['description'])} |"
        )
    lines += [
        "",
        "- **Dead letters**: every topic has a `.dlq` twin (e.g. `arrears.invoices.v1.dlq`). "
        "A message that cannot be parsed or violates this contract is copied there with its "
        "key, value and headers, plus `x-arrears-*` headers naming the error, the source "
        "topic, partition and offset, and the consumer.",
        "",
        "## Money, dates and timestamps",
        "",
        'Amounts are decimals serialized as JSON **strings** (`"1234.50"`), never floats, '
        "and round-trip exactly. A `Money` is:",
        "",
        *_fields_table(money, {}),
        "",
        "Every receivable posting, payment, settlement, fee and write-off carries `amount` in "
        "the transaction currency and `accounting_amount` in the company's accounting "
        "currency; these are positive magnitudes and the event type gives the direction. Aging "
        "and balances are in accounting currency. Business dates (`posting_date`, `due_date`, "
        "...) are ISO dates; timestamps are ISO 8601 in UTC.",
        "",
        "## Versioning",
        "",
        "- Each event type has a `schema_version`. Within a version only **additive** changes "
        "are allowed: new optional fields and new event types. Removing or retyping a field, "
        "making an optional field required or adding a required field needs a new version "
        "(a new class with the next `schema_version`); old versions stay readable forever, "
        "since topics are retained.",
        "- Consumers must ignore fields they do not know.",
        "- CI checks the models against `shared/src/arrears/shared/events/contract-lock.json` "
        "and checks that this directory is up to date.",
        "",
        "## Topics",
        "",
        "| topic | producer | events |",
        "| --- | --- | --- |",
    ]
    for topic in ALL_TOPICS:
        names = ", ".join(f"{event_types_of(cls)[0]}" for cls in _events_of(topic))
        lines.append(f"| `{topic.name}` | {topic.producer} | {names} |")
    lines.append("")
    return lines


def catalogue_markdown() -> str:
    """The Markdown event catalogue."""
    examples = {(event.type, event.schema_version): event for event in sample_events()}
    lines = _intro()
    for topic in ALL_TOPICS:
        lines += [
            f"## `{topic.name}`",
            "",
            topic.description,
            "",
            f"Producer: **{topic.producer}**. Key: `{topic.key}`. Dead letters: `{topic.dlq}`.",
            "",
        ]
        for cls in _events_of(topic):
            lines += _event_section(cls, examples.get(event_types_of(cls)))
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------- export


def export(directory: Path) -> list[Path]:
    """Write schemas/<Type>.v<N>.json, asyncapi.json and catalogue.md under `directory`.

    Output is deterministic, so a test can compare it byte for byte with the checked-in
    copy. Stale `schemas/*.json` files (of event versions that no longer exist) are removed.
    """
    schema_dir = directory / "schemas"
    schema_dir.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {
        schema_dir / f"{key}.json": dump_json(schema)
        for key, schema in event_json_schemas().items()
    }
    files[directory / "asyncapi.json"] = dump_json(asyncapi_document())
    files[directory / "catalogue.md"] = catalogue_markdown()
    for stale in schema_dir.glob("*.json"):
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        path.write_bytes(text.encode("utf-8"))
    return sorted(files)


# ---------------------------------------------------------------------------- compatibility


def _json_type(schema: JsonSchema, defs: Mapping[str, JsonSchema]) -> str:
    """The JSON type of a property for the lock: 'string(date)', 'null|object', 'array<string>'."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        return "|".join(sorted({_json_type(member, defs) for member in schema["anyOf"]}))
    kind = schema.get("type")
    if kind is None:
        if "const" in schema or "enum" in schema:
            values = [schema["const"]] if "const" in schema else schema["enum"]
            kinds = {type(value).__name__ for value in values}
            return "string" if kinds == {"str"} else "|".join(sorted(kinds))
        return "any"
    if kind == "array":
        return f"array<{_json_type(schema.get('items', {}), defs)}>"
    if "format" in schema:
        return f"{kind}({schema['format']})"
    return str(kind)


def _object_of(schema: JsonSchema, defs: Mapping[str, JsonSchema]) -> JsonSchema | None:
    """The object model a property holds (directly, nullable, or as array items)."""
    schema = _resolve(schema, defs)
    if _is_model(schema):
        return schema
    for member in schema.get("anyOf", ()):
        found = _object_of(member, defs)
        if found is not None:
            return found
    return None


def _flatten(
    model: JsonSchema, defs: Mapping[str, JsonSchema], prefix: str, out: dict[str, Any]
) -> None:
    required = set(model.get("required", ()))
    for name, prop in model.get("properties", {}).items():
        path = f"{prefix}{name}"
        out[path] = {"type": _json_type(prop, defs), "required": name in required}
        nested = _object_of(prop, defs)
        if nested is not None:
            _flatten(nested, defs, f"{path}.", out)
            continue
        resolved = _resolve(prop, defs)
        members = [resolved, *(_resolve(m, defs) for m in resolved.get("anyOf", ()))]
        for member in members:
            if member.get("type") == "array":
                items = _object_of(member.get("items", {}), defs)
                if items is not None:
                    _flatten(items, defs, f"{path}[].", out)


def _model_fields(cls: type[BaseModel]) -> dict[str, Any]:
    schema = model_schema(cls)
    fields: dict[str, Any] = {}
    _flatten(schema, schema.get("$defs", {}), "", fields)
    return dict(sorted(fields.items()))


def snapshot() -> dict[str, Any]:
    """The contract as a lock: for every 'Type.vN', its topic and flattened fields.

    Field paths go through nested models ('data.amount.currency') and array items
    ('data.allocations[].transaction_id'); each has its JSON type and whether it is
    required in its own object.
    """
    events = {
        event_key(cls): {"topic": cls.topic.name, "fields": _model_fields(cls)}
        for cls in ALL_EVENTS
    }
    return {"lock_format": LOCK_FORMAT, "events": dict(sorted(events.items()))}


def _parent(path: str) -> str:
    head, _, _ = path.rpartition(".")
    return head.removesuffix("[]")


def _new_field_allowed(path: str, field: Mapping[str, Any], locked: Mapping[str, Any]) -> bool:
    """A new field is fine if optional, or if its parent object is itself new."""
    parent = _parent(path)
    return not field["required"] or (parent != "" and parent not in locked)


def check_compatible(locked: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Backward-compatibility violations of `current` against `locked` (both snapshots)."""
    violations: list[str] = []
    current_events: Mapping[str, Any] = current.get("events", {})
    for key, entry in sorted(locked.get("events", {}).items()):
        now = current_events.get(key)
        if now is None:
            violations.append(f"{key}: event version removed")
            continue
        if now.get("topic") != entry.get("topic"):
            violations.append(f"{key}: moved from topic {entry.get('topic')} to {now.get('topic')}")
        old_fields: Mapping[str, Any] = entry["fields"]
        new_fields: Mapping[str, Any] = now["fields"]
        for path, old in sorted(old_fields.items()):
            new = new_fields.get(path)
            if new is None:
                violations.append(f"{key}: field {path} removed")
            elif new["type"] != old["type"]:
                violations.append(
                    f"{key}: field {path} changed type from {old['type']} to {new['type']}"
                )
            elif new["required"] and not old["required"]:
                violations.append(f"{key}: optional field {path} made required")
        for path, new in sorted(new_fields.items()):
            if path not in old_fields and not _new_field_allowed(path, new, old_fields):
                violations.append(f"{key}: new required field {path} in an existing version")
    return violations


def update_lock(locked: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """`locked` plus the new event versions and new optional fields of `current`.

    Existing entries are never rewritten: incompatible changes stay visible to
    `check_compatible` until they get a new version.
    """
    result: dict[str, Any] = copy.deepcopy(dict(locked))
    result.setdefault("lock_format", LOCK_FORMAT)
    events: dict[str, Any] = result.setdefault("events", {})
    for key, entry in current.get("events", {}).items():
        if key not in events:
            events[key] = copy.deepcopy(entry)
            continue
        fields: dict[str, Any] = events[key]["fields"]
        before = dict(fields)
        for path, field in entry["fields"].items():
            if path not in before and _new_field_allowed(path, field, before):
                fields[path] = dict(field)
        events[key]["fields"] = dict(sorted(fields.items()))
    result["events"] = dict(sorted(events.items()))
    return result


def lock_path() -> Path:
    """Where the checked-in contract lock lives."""
    return LOCK_PATH


def load_lock(path: Path = LOCK_PATH) -> dict[str, Any]:
    """The checked-in contract lock."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _additions(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    old_events: Mapping[str, Any] = before.get("events", {})
    added: list[str] = []
    for key, entry in after.get("events", {}).items():
        if key not in old_events:
            added.append(key)
            continue
        old_fields: Mapping[str, Any] = old_events[key]["fields"]
        added += [f"{key}:{path}" for path in entry["fields"] if path not in old_fields]
    return added


def write_lock(path: Path | None = None) -> list[str]:
    """Record the current models' new event versions and new optional fields in the lock.

    Never rewrites existing entries (see `update_lock`); creates the file if missing.
    Returns what was added: 'Type.vN' for a new version, 'Type.vN:field.path' for a field.
    """
    target = LOCK_PATH if path is None else path
    locked = load_lock(target) if target.exists() else {}
    updated = update_lock(locked, snapshot())
    text = dump_json(updated)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_bytes(text.encode("utf-8"))
    return _additions(locked, updated)

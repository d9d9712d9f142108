"""The event contract as msgspec Structs: the fast decoder's types, derived from the models.

The pydantic models stay the one definition of the contract; every model reachable from an
event class gets a Struct of the same name and fields (`message_class`), with each field
constraint translated (lengths, patterns, bounds, literals, enums, timezone-aware
timestamps) and each `model_validator(mode="after")` of the model run on the Struct after
decoding, so the same cross-field rules hold. A consumer that only reads events decodes
them into these Structs (`decode_message`), several times faster than validating the models;
`message_of` gives the Struct of an already validated event.

The translation errs on the strict side, never the lenient one: a message the Structs
accept is one the models accept, with equal values. Where the two could differ, the Struct
refuses and the caller asks the models, which decide (and give the reason):

- amounts (`Decimal` fields) are accepted only as JSON strings in plain notation
  (`-?digits[.digits]`), digits and decimal places counted as written;
- patterns end at the end of the text (`$` is read as `\\Z`, as the models' regex engine
  does);
- lax conversions of the models (numbers in strings, timestamps as numbers, decimals as JSON
  numbers) are left to the models.

`as_json` turns a Struct (or part of one) into JSON values the way `model_dump(mode="json",
exclude_none=True)` does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from arrears.shared.events.envelope import Event, _require_utc
from arrears.shared.topics import Topic


class Record(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Base of every Struct of the contract."""

    model: ClassVar[type[BaseModel]]
    """The pydantic model this Struct mirrors."""


class Message(Record, kw_only=True, frozen=True, gc=False):
    """Base of the Struct of every event (the envelope's fields are declared by each)."""

    topic: ClassVar[Topic]

    if TYPE_CHECKING:  # declared by each event's Struct, as by its model
        event_id: uuid.UUID
        type: str
        schema_version: int
        company: str
        customer_id: str
        sequence: int
        occurred_at: dt.datetime
        recorded_at: dt.datetime
        actor: str
        correlation_id: str | None
        causation_id: str | None
        data: Any

    @property
    def stream(self) -> str:
        return f"{self.company}/{self.customer_id}"


def decimal_text(max_digits: int | None, decimal_places: int | None) -> str:
    """The pattern of an amount in plain notation (`-?digits[.digits]`) within the digits
    allowed, counted as written (leading and trailing zeros included)."""
    if max_digits is not None and decimal_places is None:
        raise TypeError("no translation of max_digits without decimal_places")
    whole = "+" if max_digits is None else f"{{1,{max_digits - (decimal_places or 0)}}}"
    fraction = "+" if decimal_places is None else f"{{1,{decimal_places}}}"
    return rf"^-?[0-9]{whole}(\.[0-9]{fraction})?\Z"


UTC_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z\Z"
"""A UTC timestamp as the models write it (`2026-03-01T09:00:00Z`, microseconds optional)."""


def _utc(value: str | dt.datetime) -> dt.datetime:
    """The timestamp of UTC text (a timestamp already built passes as it is)."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class _Bounds:
    """Bounds of a `Decimal` field."""

    gt: Decimal | None = None
    ge: Decimal | None = None
    lt: Decimal | None = None
    le: Decimal | None = None

    def __call__(self, text: str) -> Decimal:
        value = Decimal(text)
        if (
            (self.gt is not None and not value > self.gt)
            or (self.ge is not None and not value >= self.ge)
            or (self.lt is not None and not value < self.lt)
            or (self.le is not None and not value <= self.le)
        ):
            raise ValueError(f"{text} is out of bounds")
        return value


Convert = Callable[[Any], Any]


def _optional(convert: Convert) -> Convert:
    def run(value: Any) -> Any:
        return None if value is None else convert(value)

    return run


def _then(first: Convert, second: Convert) -> Convert:
    def run(value: Any) -> Any:
        return second(first(value))

    return run


@dataclass(slots=True)
class _Field:
    """One field translated: its Struct type and the conversion to run after decoding."""

    type: Any
    convert: Convert | None = None


def _constraints(metadata: Iterable[Any]) -> tuple[dict[str, Any], list[Convert]]:
    """Constraints (msgspec `Meta` names) and after-validators from pydantic metadata."""
    found: dict[str, Any] = {}
    after: list[Convert] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            more, validators = _constraints(item.metadata)
            found.update(more)
            after += validators
        elif isinstance(item, AfterValidator):
            after.append(item.func)  # type: ignore[arg-type]
        else:
            for name, value in _attributes(item).items():
                if name not in TRANSLATED:
                    if value is not None and not (name == "allow_inf_nan" and value is False):
                        raise TypeError(f"no translation of {name}={value!r} ({item!r})")
                elif value is not None:
                    found[name] = value
    return found, after


TRANSLATED = frozenset(
    ("pattern", "max_digits", "decimal_places", "min_length", "max_length", "gt", "ge", "lt", "le")
)
"""Constraints with a translation (`annotated_types` and pydantic's own metadata, `Field`
and `StringConstraints`); `allow_inf_nan=False` needs none (plain notation has no
infinities)."""


def _attributes(item: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    if hasattr(item, "__dict__"):
        return dict(vars(item))
    raise TypeError(f"no translation of the constraint {item!r}")


def _pattern(pattern: str) -> str:
    """A pydantic (Rust regex) pattern for Python's `re.search`: `$` ends the text only."""
    return re.sub(r"(?<!\\)\$", r"\\Z", pattern)


def _translate(annotation: Any, metadata: Iterable[Any] = ()) -> _Field:
    constraints, after = _constraints(metadata)
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _translate(inner, [*extra, *metadata])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(annotation)) != 2:
            raise TypeError(f"no translation of the union {annotation!r}")
        inner = _translate(args[0], metadata)
        return _Field(inner.type | None, inner.convert and _optional(inner.convert))
    if origin is tuple:
        item, ellipsis = typing.get_args(annotation)
        if ellipsis is not Ellipsis:
            raise TypeError(f"no translation of {annotation!r}")
        element = _translate(item)
        if element.convert is not None or after:
            raise TypeError(f"no translation of converted items in {annotation!r}")
        return _Field(_annotated(tuple[element.type, ...], constraints))  # type: ignore[name-defined]
    if after and annotation is not dt.datetime:
        raise TypeError(f"no translation of after-validators on {annotation!r}")
    if annotation is Decimal:
        bounds = {k: Decimal(v) for k, v in constraints.items() if k in ("gt", "ge", "lt", "le")}
        pattern = decimal_text(constraints.get("max_digits"), constraints.get("decimal_places"))
        return _Field(
            Annotated[str, msgspec.Meta(pattern=pattern)], _Bounds(**bounds) if bounds else Decimal
        )
    if annotation is dt.datetime:
        if after == [_require_utc] and not constraints:
            return _Field(Annotated[str, msgspec.Meta(pattern=UTC_TEXT)], _utc)
        convert: Convert | None = None
        for validator in after:
            convert = validator if convert is None else _then(convert, validator)
        return _Field(_annotated(dt.datetime, {**constraints, "tz": True}), convert)
    if annotation in (str, int):
        if "pattern" in constraints:
            constraints["pattern"] = _pattern(constraints["pattern"])
        return _Field(_annotated(annotation, constraints))
    if constraints:
        raise TypeError(f"no translation of constraints {constraints} on {annotation!r}")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _Field(message_class(annotation))
    if origin is typing.Literal or annotation in (bool, dt.date, uuid.UUID):
        return _Field(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _Field(annotation)
    raise TypeError(f"no translation of {annotation!r}")


def _annotated(kind: Any, constraints: Mapping[str, Any]) -> Any:
    return Annotated[kind, msgspec.Meta(**constraints)] if constraints else kind


@cache
def message_class(model: type[BaseModel]) -> type[Record]:
    """The Struct mirroring `model` (an event class gives a `Message`)."""
    decorators = model.__pydantic_decorators__
    if decorators.field_validators or decorators.validators or decorators.root_validators:
        raise TypeError(f"{model.__name__}: only after-mode model validators translate")
    checks = []
    for validator in decorators.model_validators.values():
        if validator.info.mode != "after":
            raise TypeError(f"{model.__name__}: only after-mode model validators translate")
        checks.append(validator.func)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    converts: list[tuple[str, Convert]] = []
    for name, info in model.model_fields.items():
        translated = _translate(info.annotation, info.metadata)
        if info.default_factory is not None:
            raise TypeError(f"{model.__name__}.{name}: no translation of default factories")
        if info.default is PydanticUndefined:
            fields.append((name, translated.type))
        else:
            fields.append((name, translated.type, info.default))
        if translated.convert is not None:
            converts.append((name, translated.convert))
    namespace: dict[str, Any] = {"model": model}
    if issubclass(model, Event):
        namespace["topic"] = model.topic
    if converts or checks:
        namespace["__post_init__"] = _post_init(tuple(converts), tuple(checks))
    base = Message if issubclass(model, Event) else Record
    made = msgspec.defstruct(
        model.__name__,
        fields,
        bases=(base,),
        namespace=namespace,
        module=__name__,
        kw_only=True,
        frozen=True,
        gc=False,
    )
    return typing.cast(type[Record], made)


def _post_init(
    converts: tuple[tuple[str, Convert], ...], checks: tuple[Callable[[Any], Any], ...]
) -> Callable[[Any], None]:
    set_field = msgspec.structs.force_setattr

    def __post_init__(self: Any) -> None:
        for name, convert in converts:
            set_field(self, name, convert(getattr(self, name)))
        for check in checks:
            check(self)

    return __post_init__


@cache
def decoder(model: type[Event]) -> msgspec.json.Decoder[Any]:
    """The JSON decoder of one event class into its Struct."""
    return msgspec.json.Decoder(message_class(model))


def decode_message(model: type[Event], value: bytes) -> Message:
    """The Struct of `value` as an event of class `model`; raises `msgspec.ValidationError`
    or `msgspec.DecodeError` when it does not decode (the models then decide)."""
    message: Message = decoder(model).decode(value)
    return message


def message_of(event: Event) -> Message:
    """The Struct of an already validated event (built from its values, not re-parsed: the
    models may have accepted a form the Structs leave to them)."""
    message: Message = _built(event)
    return message


def as_message(event: Event | Message) -> Message:
    """The Struct of an event given either way."""
    return message_of(event) if isinstance(event, Event) else event


def _built(value: Any) -> Any:
    if isinstance(value, BaseModel):
        fields = {name: _built(getattr(value, name)) for name in type(value).model_fields}
        return message_class(type(value))(**fields)
    if isinstance(value, tuple):
        return tuple(_built(item) for item in value)
    return value


_encode = msgspec.json.Encoder().encode


def as_json(
    value: Any,
    include: Iterable[str] | Mapping[str, Any] | bool | None = None,
    *,
    keep_none: bool = False,
) -> Any:
    """JSON values of a Struct (or a tuple of them, or a plain value), as the model's
    `model_dump(mode="json", exclude_none=True, include=include)` gives them: `None` fields
    left out at every depth (kept with `keep_none`); `include` names the fields to keep (a
    mapping gives nested field sets, `{"__all__": ...}` for every item)."""
    if isinstance(value, Record):
        if include is None and _plain(type(value)):
            return msgspec.to_builtins(value)
        wanted: Any = include
        names = value.__struct_fields__ if wanted is None or wanted is True else wanted
        nested = wanted if isinstance(wanted, Mapping) else _NOTHING
        out: dict[str, Any] = {}
        for name in names:
            item = getattr(value, name, _NOTHING)
            if item is None:
                if keep_none:
                    out[name] = None
            elif type(item) in _AS_IS:
                out[name] = item
            elif item is not _NOTHING:
                out[name] = as_json(item, nested.get(name), keep_none=keep_none)
        return out
    if isinstance(value, tuple):
        each = include.get("__all__") if isinstance(include, Mapping) else None
        return [as_json(item, each, keep_none=keep_none) for item in value]
    return msgspec.to_builtins(value)


_AS_IS = frozenset((str, int, bool))
_NOTHING: dict[str, Any] = {}


@cache
def _plain(struct: type[Record]) -> bool:
    """Whether no field at any depth of `struct` can be None or a tuple (so its builtins are
    already its JSON form)."""
    return all(_plain_type(f.type) for f in msgspec.structs.fields(struct))


def _plain_type(kind: Any) -> bool:
    if typing.get_origin(kind) is Annotated:
        return _plain_type(typing.get_args(kind)[0])
    if typing.get_origin(kind) in (typing.Union, types.UnionType, tuple):
        return False
    return not (isinstance(kind, type) and issubclass(kind, Record)) or _plain(kind)

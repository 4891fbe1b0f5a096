"""Typed messages to and from plain wire maps, driven by the dataclass type hints.

A wire map holds only what both JSON and MessagePack can carry: str, int, float, bool, None,
lists and maps with string keys. `to_wire` drops fields that are None, so optional fields are
simply absent. `from_wire` checks every field's type and then calls the constructor, whose
`__post_init__` checks ranges: a message that exists is a valid message. Unknown fields are
ignored, so a newer peer may add fields without breaking an older one.
"""

from __future__ import annotations

import dataclasses
import types
from collections import OrderedDict
from collections.abc import Mapping
from enum import Enum
from functools import cache
from types import MappingProxyType
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from protocol.errors import ProtocolError, invalid

T = TypeVar("T")

Wire = dict[str, Any]


def to_wire(message: object) -> Wire:
    """The message's fields as a wire map, `t` first when the class has one."""
    out: Wire = {}
    kind = getattr(message, "T", None)
    if kind is not None:
        out["t"] = kind
    for name in _names(cast(type, type(message))):
        value = getattr(message, name)
        if value is not None:
            out[name] = _plain(value)
    return out


_NESTED: OrderedDict[int, tuple[object, Wire]] = OrderedDict()
_NESTED_LIMIT = 4096


def _nested(value: object) -> Wire:
    """The wire map of a frozen value inside a message, remembered: tables are rebuilt on
    every change but share their unchanged parts, which need not be converted again.

    Keyed by identity; the entry holds the value itself, so its id cannot be reused while
    the entry lives. Only frozen dataclasses are remembered, and the maps are never mutated.
    """
    params = getattr(type(value), "__dataclass_params__", None)
    if params is None or not params.frozen:
        return to_wire(value)
    key = id(value)
    hit = _NESTED.get(key)
    if hit is not None:
        _NESTED.move_to_end(key)
        return hit[1]
    wire = to_wire(value)
    _NESTED[key] = (value, wire)
    if len(_NESTED) > _NESTED_LIMIT:
        _NESTED.popitem(last=False)
    return wire


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_PLAIN = frozenset({str, int, float, bool})


def _plain(value: object) -> Any:
    if type(value) in _PLAIN:  # most fields: nothing to convert, and asked first
        return value
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _nested(value)
    if isinstance(value, tuple | list | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def from_wire(cls: type[T], data: object, path: str = "") -> T:
    """Build `cls` from a wire map, or raise `ProtocolError(invalid)` naming the bad field."""
    if not isinstance(data, Mapping):
        raise invalid(path or "frame", "expected a map")
    kwargs: dict[str, Any] = {}
    for name, hint, required in _fields(cast(type, cls)):
        where = f"{path}.{name}" if path else name
        if name not in data or data[name] is None:
            if required:
                raise invalid(where, "is required")
            continue
        kwargs[name] = _convert(hint, data[name], where)
    try:
        return cls(**kwargs)
    except ProtocolError as exc:
        if path and exc.field is not None:  # name the field by its full path
            raise invalid(f"{path}.{exc.field}", exc.message.partition(": ")[2]) from None
        raise


@cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = get_type_hints(cls)
    return tuple(
        (
            f.name,
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    )


def _convert(hint: Any, value: object, where: str) -> Any:
    supertype = getattr(hint, "__supertype__", None)
    if supertype is not None:  # a NewType
        return _convert(supertype, value, where)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _convert_union(get_args(hint), value, where)
    if origin is Literal:
        if value not in get_args(hint):
            raise invalid(where, f"must be one of {', '.join(map(str, get_args(hint)))}")
        return value
    if origin is tuple:
        return _convert_tuple(get_args(hint)[0], value, where)
    if origin is dict:
        return _convert_dict(get_args(hint)[1], value, where)
    if origin is Mapping:  # read-only maps come back read-only
        return MappingProxyType(_convert_dict(get_args(hint)[1], value, where))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_wire(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            raise invalid(where, f"unknown value {value!r}") from None
    return _convert_scalar(hint, value, where)


def _convert_union(options: tuple[Any, ...], value: object, where: str) -> Any:
    members = [option for option in options if option is not type(None)]
    if len(members) == 1:
        return _convert(members[0], value, where)
    for option in members:
        try:
            return _convert(option, value, where)
        except Exception:
            continue
    raise invalid(where, "has the wrong type")


def _convert_tuple(item: Any, value: object, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise invalid(where, "expected a list")
    return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))


def _convert_dict(item: Any, value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise invalid(where, "expected a map with string keys")
    return {k: _convert(item, v, f"{where}.{k}") for k, v in value.items()}


_SCALARS: dict[type, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (int, float),
    bool: (bool,),
}


def _convert_scalar(hint: Any, value: object, where: str) -> Any:
    accepted = _SCALARS.get(hint)
    if accepted is None:
        raise TypeError(f"no wire conversion for {hint!r}")
    if isinstance(value, bool) and hint is not bool:
        raise invalid(where, f"expected {hint.__name__}")
    if not isinstance(value, accepted):
        raise invalid(where, f"expected {hint.__name__}")
    return value

"""Input validation against botocore's service models (the same models the
AWS SDKs are generated from): required members, types, lengths, ranges,
patterns and enums, reported the way AWS's front end reports them."""
from __future__ import annotations

import functools
import json
import re
from typing import Any

import botocore.session

_SESSION = botocore.session.get_session()


@functools.lru_cache(maxsize=None)
def service_model(name: str) -> Any:
    return _SESSION.get_service_model(name)


@functools.lru_cache(maxsize=4096)
def _pattern(p: str) -> re.Pattern[str] | None:
    try:
        return re.compile(p, re.S)
    except re.error:
        # Java-only constructs (e.g. \p{...}); AWS would check them, we cannot
        return None


def _fmt(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"'{v}'"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_inner(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_fmt_inner(x)}" for k, x in v.items()) + "}"
    return str(v)


def _fmt_inner(v: Any) -> str:
    if isinstance(v, str):
        return v
    return _fmt(v).strip("'")


def _lc(name: str) -> str:
    return name[:1].lower() + name[1:]


class SerializationError(Exception):
    pass


def _type_ok(shape: Any, v: Any) -> bool:
    t = shape.type_name
    if t == "string":
        return isinstance(v, str)
    if t in ("integer", "long"):
        return isinstance(v, int) and not isinstance(v, bool)
    if t in ("float", "double"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "timestamp":
        return isinstance(v, (int, float, str)) and not isinstance(v, bool)
    if t == "blob":
        return isinstance(v, str)
    if t == "list":
        return isinstance(v, list)
    if t in ("map", "structure"):
        return isinstance(v, dict)
    return True


def _check(shape: Any, v: Any, path: str, errors: list[str]) -> None:
    if v is None:
        return
    if shape.metadata.get("document"):
        return
    if not _type_ok(shape, v):
        raise SerializationError(_type_message(shape, v))
    meta = shape.metadata
    t = shape.type_name
    if t == "string":
        if "min" in meta and len(v) < meta["min"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(v) > meta["max"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}")
        enum = shape.enum
        if enum and v not in enum:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(enum)}]")
        if "pattern" in meta:
            rx = _pattern(meta["pattern"])
            # Smithy patterns are not implicitly anchored: the models add ^...$
            if rx is not None and rx.fullmatch(v) is None:
                errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {meta['pattern']}")
    elif t in ("integer", "long", "float", "double"):
        if "min" in meta and v < meta["min"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and v > meta["max"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have value less than or equal to {meta['max']}")
    elif t == "list":
        if "min" in meta and len(v) < meta["min"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(v) > meta["max"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}")
        for i, item in enumerate(v, start=1):
            if item is None:
                errors.append(f"Value null at '{path}.{i}.member' failed to satisfy constraint: Member must not be null")
                continue
            _check(shape.member, item, f"{path}.{i}.member", errors)
    elif t == "map":
        if "min" in meta and len(v) < meta["min"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(v) > meta["max"]:
            errors.append(f"Value {_fmt(v)} at '{path}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}")
        for k, item in v.items():
            _check(shape.key, k, f"{path}.key", errors)
            _check(shape.value, item, f"{path}.value", errors)
    elif t == "structure":
        _check_struct(shape, v, path, errors)


def _check_struct(shape: Any, v: dict[str, Any], path: str, errors: list[str]) -> None:
    prefix = (path + ".") if path else ""
    for name in shape.required_members:
        if v.get(name) is None:
            errors.append(f"Value null at '{prefix}{_lc(name)}' failed to satisfy constraint: Member must not be null")
    if shape.metadata.get("union"):
        set_members = [k for k, x in v.items() if x is not None and k in shape.members]
        if len(set_members) > 1:
            errors.append(f"Value at '{path or 'input'}' failed to satisfy constraint: Member must have exactly one member set")
    for name, member in shape.members.items():
        if name in v:
            _check(member, v[name], prefix + _lc(name), errors)


def _type_message(shape: Any, v: Any) -> str:
    t = shape.type_name
    if isinstance(v, dict):
        return "Start of structure or map found where not expected."
    if isinstance(v, list):
        return "Start of list found where not expected"
    if t == "string":
        return f"{'NUMBER_VALUE' if isinstance(v, (int, float)) and not isinstance(v, bool) else 'VALUE_' + str(v).upper()} can not be converted to a String"
    if t in ("integer", "long"):
        return f"STRING_VALUE can not be converted to an {'Integer' if t == 'integer' else 'Long'}" if isinstance(v, str) else f"{_fmt(v)} can not be converted to an Integer"
    if t == "boolean":
        return f"{'STRING_VALUE' if isinstance(v, str) else 'NUMBER_VALUE'} can not be converted to a Boolean"
    if t in ("structure", "map"):
        return "Unexpected value type in payload"
    if t == "list":
        return "Unexpected value type in payload"
    return "Unexpected value type in payload"


class ValidationFailure(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def validate_json_request(service: str, operation: str, body: bytes) -> None:
    """Raise ValidationFailure when a JSON-protocol request breaks the model."""
    model = service_model(service)
    try:
        op = model.operation_model(operation)
    except Exception:
        raise ValidationFailure("UnknownOperationException", "")
    shape = op.input_shape
    if shape is None:
        return
    if body.strip():
        try:
            params = json.loads(body)
        except ValueError:
            raise ValidationFailure("SerializationException", "Unable to parse request body as JSON")
    else:
        params = {}
    if not isinstance(params, dict):
        raise ValidationFailure("SerializationException", "Start of list found where not expected")
    errors: list[str] = []
    try:
        _check_struct(shape, params, "", errors)
    except SerializationError as e:
        raise ValidationFailure("SerializationException", str(e))
    if errors:
        n = len(errors)
        head = f"{n} validation error{'s' if n > 1 else ''} detected: "
        raise ValidationFailure("ValidationException", head + "; ".join(errors[:10]))

"""Column checks derived from a provider's pydantic model, the single statement of its schema.

For every field a mapping can target (dotted for nested models) the model is read once: is the
field required, is its text trimmed first, which checks apply. A check is understood when it is
one of the field types of `sync.providers.fields` or a `min_length`/`max_length` bound; then it
becomes a polars expression. Everything else (another validator, a number or a boolean field, a
model-wide validator, aliases, defaults) makes the field `Leaf.known` False, and rows that give it
a value are validated one by one by pydantic itself.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import annotated_types
import polars as pl
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator, BeforeValidator

from sync.columnar import text
from sync.providers.fields import (
    EmailAddress,
    FullMatch,
    MaxUtf16,
    NoPrefix,
    NoSuffix,
    NotEmpty,
    OneOf,
    SingleLine,
    trim,
)

Check = Callable[[pl.Expr], pl.Expr]

# Model settings that change nothing about how one text value is validated or dumped.
_HARMLESS_CONFIG = frozenset({"extra", "title"})


@dataclass(frozen=True, slots=True)
class Leaf:
    """One field a mapping can target, as the column validator sees it."""

    path: str  # "email", or "linkProps.externalId" inside a nested model
    required: bool
    known: bool  # False: rows with a value here are validated by pydantic, one by one
    trim: bool = False  # the value is trimmed before it is checked (and sent trimmed)
    checks: tuple[Check, ...] = ()
    text: bool = False  # a text value is accepted
    text_list: bool = False  # a list of texts is accepted as it is


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """Every leaf of a model by path; `known` is False when the model as a whole is not
    understood (every row then goes to pydantic)."""

    leaves: dict[str, Leaf]
    known: bool

    def leaf(self, path: str) -> Leaf:
        return self.leaves.get(path) or Leaf(path=path, required=False, known=False)


def column_schema(model: type[BaseModel]) -> ColumnSchema:
    """Read `model` into column checks (cached per model class)."""
    cached = _CACHE.get(model)
    if cached is None:
        leaves: dict[str, Leaf] = {}
        known = _collect(model, "", leaves, nested=False)
        cached = _CACHE[model] = ColumnSchema(leaves=leaves, known=known)
    return cached


_CACHE: dict[type[BaseModel], ColumnSchema] = {}


def _model_understood(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    if (
        decorators.model_validators
        or decorators.root_validators
        or decorators.model_serializers
        or decorators.field_serializers
        or decorators.computed_fields
    ):
        return False
    return set(model.model_config) <= _HARMLESS_CONFIG


def _collect(model: type[BaseModel], prefix: str, leaves: dict[str, Leaf], *, nested: bool) -> bool:
    """Add `model`'s leaves under `prefix`; False when the model itself is not understood."""
    understood = _model_understood(model)
    validated_fields = {
        name
        for decorator in model.__pydantic_decorators__.field_validators.values()
        for name in decorator.info.fields
    } | {
        name
        for decorator in model.__pydantic_decorators__.validators.values()
        for name in decorator.info.fields
    }
    for name, info in model.model_fields.items():
        path = prefix + name
        required = info.is_required()
        if info.alias or info.validation_alias or info.serialization_alias:
            understood = False
        if not required and (info.default is not None or info.default_factory is not None):
            understood = False  # a default would appear in every payload
        if nested and required:
            understood = False  # presence then depends on the other fields of the object
        fallback = Leaf(path=path, required=required, known=False)
        if "*" in validated_fields or name in validated_fields:
            leaves[path] = fallback
            continue
        options = _options(info.annotation)
        models = [option for option, _ in options if _is_model(option)]
        if models:
            single = len(options) == 1 and not info.metadata and not options[0][1]
            if single and not required:
                _nested(models[0], path + ".", leaves)
            leaves[path] = fallback  # the object as a whole comes only from dotted fields
            continue
        leaves[path] = _leaf(path, required, options, list(info.metadata))
    return understood


def _nested(model: type[BaseModel], prefix: str, leaves: dict[str, Leaf]) -> None:
    """Add a nested model's leaves; all of them fall back when the model is not understood."""
    inner: dict[str, Leaf] = {}
    if not _collect(model, prefix, inner, nested=True):
        inner = {
            path: Leaf(path=path, required=leaf.required, known=False)
            for path, leaf in inner.items()
        }
    leaves.update(inner)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _options(annotation: Any) -> list[tuple[Any, list[Any]]]:
    """The non-None members of a (possibly optional) annotation, each with its own metadata."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    else:
        members = [annotation]
    options: list[tuple[Any, list[Any]]] = []
    for member in members:
        inner: list[Any] = []
        if typing.get_origin(member) is typing.Annotated:
            member, *inner = typing.get_args(member)
        options.append((member, inner))
    return options


def _leaf(
    path: str, required: bool, options: list[tuple[Any, list[Any]]], outer: list[Any]
) -> Leaf:
    fallback = Leaf(path=path, required=required, known=False)
    text_option = [meta for option, meta in options if option is str]
    list_option = [meta for option, meta in options if _is_text_list(option)]
    if len(text_option) + len(list_option) != len(options):
        return fallback  # a number, a boolean, a literal, a list of objects...
    if list_option and (outer or any(list_option[0]) or (text_option and any(text_option[0]))):
        return fallback  # constraints on a text-or-list union: validated row by row
    steps = [*(text_option[0] if text_option else []), *outer]
    trimmed = False
    checks: list[Check] = []
    for step in _flatten(steps):
        if isinstance(step, BeforeValidator) and step.func is trim:
            trimmed = True
            continue
        check = _check(step)
        if check is None:
            return fallback
        checks.append(check)
    return Leaf(
        path=path,
        required=required,
        known=True,
        trim=trimmed,
        checks=tuple(checks),
        text=bool(text_option),
        text_list=bool(list_option),
    )


def _is_text_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,)


def _flatten(metadata: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            if item.alias or item.validation_alias:
                flat.append(item)  # not understood: _check refuses it
            else:
                flat.extend(item.metadata)
        else:
            flat.append(item)
    return flat


def _check(step: Any) -> Check | None:
    """The column expression of one understood check, or None."""
    if isinstance(step, annotated_types.MinLen):
        bound = step.min_length
        return lambda value: value.str.len_chars() >= bound
    if isinstance(step, annotated_types.MaxLen):
        limit = step.max_length
        return lambda value: value.str.len_chars() <= limit
    if not isinstance(step, AfterValidator):
        return None
    rule = step.func
    if isinstance(rule, MaxUtf16):
        limit = rule.limit
        return lambda value: text.utf16_length(value) <= limit
    if isinstance(rule, EmailAddress):
        if not text.compiles(rule.pattern):
            return None
        email, longest = rule.pattern, rule.longest
        return lambda value: (value.str.len_chars() <= longest) & text.full_match(value, email)
    if isinstance(rule, SingleLine):
        return lambda value: ~value.str.contains(r"[\n\r]")
    if isinstance(rule, FullMatch):
        if not text.compiles(rule.pattern):
            return None
        pattern = rule.pattern
        return lambda value: text.full_match(value, pattern)
    if isinstance(rule, OneOf):
        allowed = sorted(rule.values)
        return lambda value: value.is_in(allowed)
    if isinstance(rule, NoPrefix):
        prefixes = rule.prefixes
        return lambda value: (
            ~pl.any_horizontal(*(value.str.starts_with(prefix) for prefix in prefixes))
        )
    if isinstance(rule, NoSuffix):
        suffixes = rule.suffixes
        return lambda value: (
            ~pl.any_horizontal(*(value.str.ends_with(suffix) for suffix in suffixes))
        )
    if isinstance(rule, NotEmpty):
        return lambda value: value.str.len_bytes() > 0
    return None

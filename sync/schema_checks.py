"""Column checks compiled from a provider's pydantic model, the single statement of its schema.

For every field a mapping can target (dotted for nested models) the model is read once: is the
field required, is its text trimmed first, what is sent when it is missing (a default), and
which checks apply. Each field-constraint class of `sync.providers.fields` (and pydantic's own
`min_length`/`max_length`) has its column expression in `sync.constraint_columns`. A field whose
annotation holds anything else says why in `Leaf.why_not`, and the rows that give it a value are
decided by pydantic itself; `tests/unit/test_schema_compiles.py` lists, per provider, the only
fields allowed to be so.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import BeforeValidator

from sync import text
from sync.constraint_columns import Check, column_check, list_check
from sync.providers.fields import NamesOne, SplitText, trim

# Model settings that change nothing about how one value is validated or dumped.
_HARMLESS_CONFIG = frozenset({"extra", "title"})
# The texts pydantic reads as a boolean (any case), as pydantic-core lists them.
_TRUE = ("1", "on", "t", "true", "y", "yes")
_FALSE = ("0", "off", "f", "false", "n", "no")


@dataclass(frozen=True, slots=True)
class TextRule:
    """How one text value is checked: trimmed first or not, then every check."""

    trim: bool = False
    checks: tuple[Check, ...] = ()

    def apply(self, value: pl.Expr, *, trimmed: bool = False) -> tuple[pl.Expr, pl.Expr]:
        """The value as sent, and where it passes (null where the value is null); `trimmed`
        when the values are trimmed already (a trim changes nothing the second time)."""
        sent = text.trimmed(value) if self.trim and not trimmed else value
        checks = [check(sent) for check in self.checks]
        return sent, pl.all_horizontal(*checks) if checks else pl.lit(True)


@dataclass(frozen=True, slots=True)
class Column:
    """What a field sends for one mapped column, and where that value is acceptable."""

    sent: pl.Expr
    ok: pl.Expr  # false (or null) where pydantic refuses the value


@dataclass(frozen=True, slots=True)
class Leaf:
    """One field a mapping can target, as the column checks see it."""

    path: str  # "email", or "linkProps.externalId" inside a nested model
    required: bool
    text: TextRule | None = None  # a text value is accepted, checked so
    items: TextRule | None = None  # a list of texts is accepted, each item checked so
    list_checks: tuple[Check, ...] = ()  # checks on the list itself (its length)
    split: SplitText | None = None  # a text value is split into a list first
    boolean: bool = False  # a yes/no field
    default: Any = None  # what is sent when the row gives no value (None: nothing)
    why_not: str | None = None  # why the columns cannot check this field (None: they can)

    def column(self, value: pl.Expr, dtype: pl.DataType, *, trimmed: bool = False) -> Column | None:
        """The field's checks on a mapped column of `dtype` (of text values `models.trim()`med
        already when `trimmed`); None when only pydantic can judge such values (a `json`
        transform's objects). A value of a kind the field refuses (a list for a text field) is
        refused here too, and pydantic words why."""
        if self.why_not is not None:
            return None
        if dtype == pl.String:
            return self._text_column(value, trimmed=trimmed)
        if dtype == pl.List(pl.String):
            return self._list_column(value, trimmed=trimmed) if self.items else _refused()
        if dtype == pl.Boolean:
            return Column(sent=value, ok=pl.lit(True)) if self.boolean else _refused()
        return None

    def _text_column(self, value: pl.Expr, *, trimmed: bool) -> Column:
        if self.text is not None:
            sent, ok = self.text.apply(value, trimmed=trimmed)
            return Column(sent=sent, ok=ok)
        if self.split is not None and self.items is not None:
            parts = value.str.split(self.split.separator).list.eval(text.strip(pl.element()))
            return self._list_column(parts.list.eval(pl.element().filter(pl.element() != "")))
        if self.boolean:
            folded = value.str.to_lowercase()
            return Column(sent=folded.is_in(_TRUE), ok=folded.is_in(_TRUE + _FALSE))
        return _refused()

    def _list_column(self, value: pl.Expr, *, trimmed: bool = False) -> Column:
        assert self.items is not None
        item = pl.element()
        sent_item, item_ok = self.items.apply(item, trimmed=trimmed)
        sent = value.list.eval(sent_item) if self.items.trim and not trimmed else value
        ok = value.list.eval(item.is_not_null() & item_ok).list.all()
        ok = pl.all_horizontal(ok, *(check(value) for check in self.list_checks))
        return Column(sent=sent, ok=ok)


def _refused() -> Column:
    return Column(sent=pl.lit(None), ok=pl.lit(False))


@dataclass(frozen=True, slots=True)
class ObjectRule:
    """What an object of the payload needs whenever it is sent: the top level always is; a
    nested one (`referring_partner`) is sent when one of its fields has a value."""

    path: str  # "" for the top level
    leaves: tuple[str, ...]  # the paths of its fields
    required: tuple[str, ...]  # fields it must have
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of fields of which one must be set


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """Every leaf of a model by path, and the rules of its objects.

    `why_not` says why the model as a whole cannot be checked in columns (every row then goes
    to pydantic); `ignores_others` is True when fields outside the model are dropped (an
    invitation), False when they are refused."""

    leaves: dict[str, Leaf]
    objects: tuple[ObjectRule, ...]
    why_not: str | None = None
    ignores_others: bool = False
    whole: dict[str, str] = field(default_factory=dict)  # object fields, from a json value

    def leaf(self, path: str) -> Leaf | None:
        return self.leaves.get(path)

    def uncompiled(self) -> dict[str, str]:
        """Every field whose values only pydantic can judge, with why."""
        found = {path: leaf.why_not for path, leaf in self.leaves.items() if leaf.why_not}
        return {**found, **self.whole}


def column_schema(model: type[BaseModel]) -> ColumnSchema:
    """Read `model` into column checks (cached per model class)."""
    cached = _CACHE.get(model)
    if cached is None:
        reader = _Reader()
        reader.read(model, "", nested=False)
        cached = _CACHE[model] = ColumnSchema(
            leaves=reader.leaves,
            objects=tuple(reader.objects),
            why_not=reader.why_not,
            ignores_others=model.model_config.get("extra") in (None, "ignore"),
            whole=reader.whole,
        )
    return cached


_CACHE: dict[type[BaseModel], ColumnSchema] = {}


def _model_problem(model: type[BaseModel]) -> str | None:
    """Why `model` as a whole cannot be checked in columns, or None."""
    decorators = model.__pydantic_decorators__
    others = [
        decorator
        for decorator in decorators.model_validators.values()
        if not (decorator.info.mode == "after" and isinstance(decorator.func, NamesOne))
    ]
    if others or decorators.root_validators:
        return f"{model.__name__} has a model-wide validator"
    if decorators.model_serializers or decorators.field_serializers or decorators.computed_fields:
        return f"{model.__name__} changes how it is dumped"
    if not set(model.model_config) <= _HARMLESS_CONFIG:
        return f"{model.__name__} has settings the columns do not know"
    if model.model_config.get("extra") not in (None, "ignore", "forbid"):
        return f"{model.__name__} keeps fields it does not declare"
    return None


class _Reader:
    """Walks a model and its nested models into leaves and object rules."""

    def __init__(self) -> None:
        self.leaves: dict[str, Leaf] = {}
        self.objects: list[ObjectRule] = []
        self.whole: dict[str, str] = {}
        self.why_not: str | None = None

    def read(self, model: type[BaseModel], prefix: str, *, nested: bool) -> None:
        self.why_not = self.why_not or _model_problem(model)
        validated = _validated_fields(model)
        paths, required = [], []
        for name, info in model.model_fields.items():
            path = prefix + name
            if info.alias or info.validation_alias or info.serialization_alias:
                self.why_not = self.why_not or f"{path} has an alias"
            if info.default_factory is not None:
                self.why_not = self.why_not or f"{path} has a default factory"
            if info.is_required():
                required.append(path)
            options = _options(info.annotation)
            models = [option for option, _ in options if _is_model(option)]
            if models:
                self._object(path, info, options, models[0])
                paths.append(path)
                continue
            paths.append(path)
            if "*" in validated or name in validated:
                self.leaves[path] = Leaf(path, info.is_required(), why_not="a field validator")
                continue
            leaf = _leaf(path, info.is_required(), options, list(info.metadata))
            if info.default is not None and not info.is_required():
                leaf = _with_default(leaf, info.default, nested=nested)
            self.leaves[path] = leaf
        groups = tuple(
            tuple(prefix + name for name in decorator.func.fields)
            for decorator in model.__pydantic_decorators__.model_validators.values()
            if isinstance(decorator.func, NamesOne)
        )
        self.objects.append(ObjectRule(prefix.rstrip("."), tuple(paths), tuple(required), groups))

    def _object(
        self, path: str, info: FieldInfo, options: list[tuple[Any, list[Any]]], model: Any
    ) -> None:
        """A nested model: its fields come from dotted targets; the object as a whole (from a
        `json` value) is pydantic's to judge."""
        self.whole[path] = "a whole object (a json value): pydantic judges it"
        single = len(options) == 1 and not info.metadata and not options[0][1]
        if single and not info.is_required() and info.default is None:
            self.read(model, path + ".", nested=True)
        else:
            self.leaves.update(
                {
                    f"{path}.{name}": Leaf(f"{path}.{name}", False, why_not="in an object not read")
                    for name in model.model_fields
                }
            )


def _validated_fields(model: type[BaseModel]) -> set[str]:
    decorators = model.__pydantic_decorators__
    return {
        name
        for group in (decorators.field_validators, decorators.validators)
        for decorator in group.values()
        for name in decorator.info.fields
    }


def _with_default(leaf: Leaf, default: Any, *, nested: bool) -> Leaf:
    if nested:  # it would make the object appear in every payload: pydantic's to judge
        return Leaf(leaf.path, leaf.required, why_not="a default inside an object")
    if isinstance(default, bool | str | int | float):
        return dataclasses.replace(leaf, default=default)
    return Leaf(leaf.path, leaf.required, why_not=f"a default of type {type(default).__name__}")


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _options(annotation: Any) -> list[tuple[Any, list[Any]]]:
    """The non-None members of a (possibly optional) annotation, each with its own metadata."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    else:
        members = [annotation]
    return [_unwrap(member) for member in members]


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """A type and the metadata of its `Annotated` wrapping (nested wrappings merged)."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        return inner, metadata
    return annotation, []


def _leaf(
    path: str, required: bool, options: list[tuple[Any, list[Any]]], outer: list[Any]
) -> Leaf:
    """The leaf of a field of these (type, metadata) options and the field's own metadata."""
    texts = [meta for option, meta in options if option is str]
    lists = [(option, meta) for option, meta in options if _text_items(option) is not None]
    booleans = [meta for option, meta in options if option is bool]
    if len(texts) + len(lists) + len(booleans) != len(options) or len(options) > 2:
        return Leaf(path, required, why_not="a type the columns do not check")
    if booleans and (len(options) > 1 or booleans[0] or outer):
        return Leaf(path, required, why_not="a constrained yes/no field")
    if booleans:
        return Leaf(path, required, boolean=True)
    if lists:
        outer = [*lists[0][1], *outer]
    split, outer = _split_of(outer)
    if texts and lists:
        if outer or texts[0] or split:
            return Leaf(path, required, why_not="constraints on a text-or-list field")
        text_rule = _text_rule(texts[0])
        items = _text_rule(_text_items(lists[0][0]) or [])
        if text_rule is None or items is None:
            return Leaf(path, required, why_not="a check the columns do not know")
        return Leaf(path, required, text=text_rule, items=items)
    if texts:
        rule = _text_rule([*texts[0], *outer])
        if rule is None or split:
            return Leaf(path, required, why_not="a check the columns do not know")
        return Leaf(path, required, text=rule)
    items = _text_rule(_text_items(lists[0][0]) or [])
    list_checks = [list_check(step) for step in _flatten(outer)]
    if items is None or None in list_checks:
        return Leaf(path, required, why_not="a check the columns do not know")
    checks = tuple(check for check in list_checks if check is not None)
    return Leaf(path, required, items=items, list_checks=checks, split=split)


def _text_items(annotation: Any) -> list[Any] | None:
    """The metadata of the items of a list of texts; None when `annotation` is not one."""
    if typing.get_origin(annotation) is not list:
        return None
    (item,) = typing.get_args(annotation) or (None,)
    item, metadata = _unwrap(item)
    return _flatten(metadata) if item is str else None


def _split_of(outer: list[Any]) -> tuple[SplitText | None, list[Any]]:
    """A `SplitText` before-validator among the field's metadata, and the rest."""
    splits = [
        step.func
        for step in outer
        if isinstance(step, BeforeValidator) and isinstance(step.func, SplitText)
    ]
    rest = [
        step
        for step in outer
        if not (isinstance(step, BeforeValidator) and isinstance(step.func, SplitText))
    ]
    return (splits[0] if len(splits) == 1 else None), rest


def _text_rule(metadata: list[Any]) -> TextRule | None:
    """The checks of a text value, in order; None when one is not known."""
    trimmed = False
    checks: list[Check] = []
    for step in _flatten(metadata):
        if isinstance(step, BeforeValidator) and step.func is trim:
            if checks:
                return None  # a trim after a check: not how our types are built
            trimmed = True
            continue
        check = column_check(step)
        if check is None:
            return None
        checks.append(check)
    return TextRule(trim=trimmed, checks=tuple(checks))


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

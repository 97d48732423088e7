"""Rules as data: the pydantic models of a rule file, pure (no file, no catalogue).

A rule file is a plain mapping with ``format = 1``, a ``title`` and a list of ``rules``; these
models refuse an unknown key or a bad value. Reading the file, wording the errors and checking the
layers and fields a rule names against the layer catalogue is the job of ``settings.rules``.

Filters are small and declarative. A condition is one of::

    { field = "burning", equals = "open" }
    { field = "amalgamation", in = ["whole_ore", "concentrate"] }
    { field = "uses_mercury", is_true = true }     # is_true = false: false or missing
    { any = [ <condition>, ... ] }                   # or
    { all = [ <condition>, ... ] }                   # and

A missing value never equals anything and is never in a list.

A spatial rule flags a subject that passes the subject filter and lies within ``distance_m``
of (or, for ``inside``, touches or lies inside) a feature of an ``other`` layer that passes that
layer's filter, or (for ``not_covered``) is not wholly covered by the union of those features;
an ``other`` layer with ``valid_on`` counts only the features valid on the subject's date;
a subject that matches ``reported_if`` is flagged as well, with no distance, because the
field survey reports the practice (e.g. burning in homes) whatever the map shows.
"""
from __future__ import annotations

import datetime
from typing import Literal, Protocol

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo.distance.geodesic import MAX_REACH_M
from geo.errors import ConfigError
from geo.words import listed

Scalar = bool | int | float | str
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class FieldSchema(Protocol):
    """What the engine needs to know about one declared field (``layers.catalogue.FieldSpec``)."""

    @property
    def dtype(self) -> str: ...

    @property
    def allowed(self) -> tuple[str, ...] | None: ...


class LayerSchema(Protocol):
    """What the engine needs to know about a layer type (``layers.catalogue.LayerSpec``)."""

    @property
    def id_field(self) -> str: ...

    @property
    def label_field(self) -> str | None: ...

    def field(self, name: str) -> FieldSchema | None: ...


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class Condition(_Strict):
    """One filter condition: a field test, or ``any`` / ``all`` of nested conditions."""

    field: str | None = None
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    is_true: bool | None = None
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        tests = [k for k, v in (("equals", self.equals), ("in", self.in_),
                                ("is_true", self.is_true)) if v is not None]
        groups = [k for k, v in (("any", self.any_), ("all", self.all_)) if v is not None]
        if self.field is not None and len(tests) != 1:
            raise ValueError(f"field {self.field!r} needs exactly one of 'equals', 'in',"
                             f" 'is_true'; got {tests or 'none'}")
        if self.field is not None and groups:
            raise ValueError("a condition with 'field' cannot also hold 'any' or 'all'")
        if self.field is None and (tests or len(groups) != 1):
            raise ValueError("a condition is either {field, equals|in|is_true}"
                             " or exactly one of {any = [...]} / {all = [...]}")
        return self

    def fields(self) -> set[str]:
        """Every field name the condition reads."""
        if self.field is not None:
            return {self.field}
        return set().union(*(c.fields() for c in (self.any_ or self.all_ or [])))

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean array, one per row of ``frame``; a column the frame lacks matches nothing."""
        if self.any_ is not None:
            return np.logical_or.reduce([c.mask(frame) for c in self.any_])
        if self.all_ is not None:
            return np.logical_and.reduce([c.mask(frame) for c in self.all_])
        assert self.field is not None
        if self.field not in frame.columns:
            return np.zeros(len(frame), dtype=bool) if self.is_true is not False \
                else np.ones(len(frame), dtype=bool)
        col = frame[self.field]
        if self.in_ is not None:
            hit = col.isin(self.in_)
        elif self.is_true is not None:
            hit = col.eq(True) if self.is_true else ~col.eq(True).fillna(False).astype(bool)
        elif col.dtype == object and isinstance(self.equals, str):
            return _equal_objects(col, self.equals)
        else:
            hit = col.eq(self.equals)
        return np.array(hit.fillna(False).astype(bool), dtype=bool)


def _equal_objects(col: pd.Series, text: str) -> np.ndarray:
    """``col.eq(text)`` of a column of objects, missing values never equal, in one numpy pass (pandas
    tests each value for missing first: 40 ms against 18 ms on the 1e6 sites' derived ``mercury_use``);
    pandas' own comparison when a value refuses a plain truth value (``pd.NA``, an array) or numpy
    gives no array of booleans. ``tests/test_rules_condition_objects.py`` keeps pandas' result as the oracle."""
    try:
        hit = col.to_numpy() == text
    except (TypeError, ValueError):  # pd.NA; an array inside the column
        hit = None
    if not isinstance(hit, np.ndarray) or hit.dtype != bool or hit.shape != (len(col),):
        return np.array(col.eq(text).fillna(False).astype(bool), dtype=bool)
    return hit


class LayerRef(_Strict):
    """A layer a rule reads, with an optional filter on its fields."""

    layer: str
    where: Condition | None = Field(default=None, alias="filter")


class Validity(_Strict):
    """When a feature counts: on the subject's ``date_field`` (today when empty), a feature counts
    when ``from_field`` <= date <= ``to_field``, both bounds included; an empty bound is open."""

    from_field: str = "valid_from"
    to_field: str = "valid_to"
    date_field: str = "survey_date"


class OtherRef(LayerRef):
    """The layer a subject is compared with, with optional per-kind distances in metres.

    ``source_field`` names a field of this layer copied to the violation as ``nearest_source``
    (e.g. the law a zone is declared under); ``valid_on`` limits the features to those valid on
    the subject's date.
    """

    distance_by_kind: dict[str, float] | None = None
    kind_field: str = "kind"
    width_field: str = "width_m"
    source_field: str | None = None
    valid_on: Validity | None = None

    @model_validator(mode="after")
    def _positive(self) -> OtherRef:
        for kind, metres in (self.distance_by_kind or {}).items():
            if not 0 <= metres <= MAX_REACH_M:  # NaN fails both comparisons
                raise ValueError(f"distance_by_kind.{kind} must be a distance in metres from 0 to"
                                 f" {MAX_REACH_M:,.0f}; got {metres!r}")
        return self


class ExampleFeature(_Strict):
    """An inline feature of an example: WKT in lon/lat (EPSG:4326) plus attributes."""

    wkt: str
    id: str | None = None
    fields: dict[str, Scalar] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parses(self) -> ExampleFeature:
        try:
            geom = shapely.from_wkt(self.wkt)
        except shapely.errors.ShapelyError as exc:
            raise ValueError(f"wkt {self.wkt!r} is not valid WKT ({exc})") from None
        if geom is None or geom.is_empty:
            raise ValueError(f"wkt {self.wkt!r} is empty")
        return self


class Example(_Strict):
    """A case the rule must flag (``expect = "flagged"``) or must not (``"clear"``)."""

    expect: Literal["flagged", "clear"]
    note: str = Field(min_length=1)
    subject: ExampleFeature
    other: dict[str, list[ExampleFeature]] = Field(default_factory=dict)
    distance_m: float | None = Field(default=None, ge=0)
    area_m2: float | None = Field(default=None, ge=0)
    today: datetime.date | None = None


class Rule(_Strict):
    """One rule: subject, relation, other layers, threshold, citation and examples."""

    id: str = Field(pattern=_ID_PATTERN)
    version: int | str
    title: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    severity: Literal["critical", "high", "medium", "low"]
    relation: Literal["within_distance", "inside", "not_covered", "attribute"]
    distance_m: float | None = Field(default=None, ge=0, le=MAX_REACH_M, allow_inf_nan=False)
    subject: LayerRef
    other: list[OtherRef] = Field(default_factory=list)
    reported_if: Condition | None = None
    assumption: bool = False
    assumption_note: str | None = None
    description: str = ""
    examples: list[Example]

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        spatial = self.relation != "attribute"
        if spatial and not self.other:
            raise ValueError(f"relation {self.relation!r} needs at least one [[rules.other]]")
        if not spatial and self.other:
            raise ValueError("relation 'attribute' reads the subject alone; remove 'other'")
        if (self.relation == "within_distance") != (self.distance_m is not None):
            raise ValueError("'distance_m' is required for relation 'within_distance'"
                             " and not allowed for any other relation")
        if self.relation != "within_distance" and any(o.distance_by_kind for o in self.other):
            raise ValueError("'distance_by_kind' needs relation 'within_distance'")
        if self.relation == "attribute" and self.reported_if is not None:
            raise ValueError("'reported_if' is for spatial rules; put it in the subject filter")
        if self.assumption != bool(self.assumption_note):
            raise ValueError("'assumption = true' needs an 'assumption_note' saying what is"
                             " assumed, and a note needs 'assumption = true'")
        kinds = {e.expect for e in self.examples}
        if kinds != {"flagged", "clear"}:
            raise ValueError("'examples' needs at least one with expect = \"flagged\" and one"
                             f" with expect = \"clear\"; got {listed(sorted(kinds)) or 'none'}")
        return self

    @property
    def layers(self) -> list[str]:
        """Every layer the rule reads, subject first."""
        return [self.subject.layer] + [o.layer for o in self.other]


class RuleSet(_Strict):
    """A whole rule file."""

    format: Literal[1]
    title: str = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique; repeated: {dupes}")
        return self

    def rule(self, rule_id: str) -> Rule:
        """The rule with id ``rule_id``; ConfigError naming the known ids otherwise."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise ConfigError(f"no rule {rule_id!r}; the rule file has {[r.id for r in self.rules]}")

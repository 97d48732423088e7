"""Check a parsed rule against the layer catalogue: layers, fields, values and kinds it names.

``settings.rules.parse_rules`` runs it on every rule of a rule file after the pure models
(``geo.rules.model``) have accepted the file's shape.

A rule that names a layer or field the catalogue does not declare, a value outside a coded
field's allowed set, or a value of the wrong type is refused here, one line per problem, each
naming the rule id and the key. A filter may also name a derived field (``geo.rules.derived``,
e.g. ``mercury_use``) on a layer that declares a field it is computed from; an example feature
may not give one, since it is always computed.
"""
from __future__ import annotations

from collections.abc import Mapping

from geo.rules import DERIVED_FIELDS, Condition, Example, FieldSchema, LayerSchema, OtherRef, Rule
from geo.words import listed, one_of


def catalogue_problems(rule: Rule, schemas: Mapping[str, LayerSchema]) -> list[str]:
    """Every layer, field and value the rule names that the catalogue does not declare."""
    out: list[str] = []
    at = f"rule {rule.id!r}"
    for role, ref in [("subject", rule.subject)] + [(f"other[{i}]", o)
                                                     for i, o in enumerate(rule.other)]:
        schema = schemas.get(ref.layer)
        if schema is None:
            out.append(f"{at}: key '{role}.layer': unknown layer {ref.layer!r}; expected"
                       f" {one_of(sorted(schemas))}")
            continue
        conds = [("filter", ref.where)]
        if role == "subject":
            conds.append(("reported_if", rule.reported_if))
        for key, cond in conds:
            if cond is not None:
                out += _condition_problems(cond, schema, f"{at}: key '{role}.{key}'", ref.layer)
        if isinstance(ref, OtherRef):
            out += _other_problems(ref, schema, f"{at}: key '{role}", rule.relation)
    subject = schemas.get(rule.subject.layer)
    out += [f"{at}: key 'other[{i}].valid_on.date_field': field {o.valid_on.date_field!r} is not declared"
            f" for layer {rule.subject.layer!r}" for i, o in enumerate(rule.other)
            if subject is not None and o.valid_on is not None and subject.field(o.valid_on.date_field) is None]
    for n, ex in enumerate(rule.examples):
        out += _example_problems(ex, rule, schemas, f"{at}: example {n + 1}")
    return out


def _condition_problems(cond: Condition, schema: LayerSchema, at: str, layer: str) -> list[str]:
    if cond.any_ or cond.all_:
        return [p for c in (cond.any_ or cond.all_ or [])
                for p in _condition_problems(c, schema, at, layer)]
    assert cond.field is not None
    derived = DERIVED_FIELDS.get(cond.field)
    spec: FieldSchema | None = derived or schema.field(cond.field)
    if derived is not None and not any(schema.field(f) is not None for f in derived.reads):
        return [f"{at}: derived field {cond.field!r} is computed from {listed(derived.reads, 'or')},"
                f" none of which layer {layer!r} declares"]
    if spec is None:
        return [f"{at}: field {cond.field!r} is not declared for layer {layer!r}"]
    if cond.is_true is not None:
        return [] if spec.dtype == "bool" else [
            f"{at}: 'is_true' needs a bool field; {cond.field!r} is {spec.dtype}"]
    values = cond.in_ if cond.in_ is not None else [cond.equals]
    return [f"{at}: field {cond.field!r}: value {v!r} {why}"
            for v in values if (why := _value_problem(v, spec))]


def _value_problem(value: object, spec: FieldSchema) -> str | None:
    """Why ``value`` cannot appear in field ``spec``, or None when it can."""
    ok = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,), "date": (str,)}
    types = ok.get(spec.dtype, (str,))
    if not isinstance(value, types) or (spec.dtype != "bool" and isinstance(value, bool)):
        return f"is not {'an' if spec.dtype[:1] in 'aeiou' else 'a'} {spec.dtype}"
    if spec.allowed is not None and value not in spec.allowed:
        return f"is not allowed; expected {one_of(spec.allowed)}"
    return None


def _other_problems(ref: OtherRef, schema: LayerSchema, at: str, relation: str) -> list[str]:
    out = []
    if relation == "within_distance" and schema.field(ref.width_field) is None \
            and ref.width_field != "width_m":
        out.append(f"{at}.width_field': field {ref.width_field!r} is not declared for layer"
                   f" {ref.layer!r}")
    named = [("source_field", ref.source_field)] + ([] if ref.valid_on is None else [
        ("valid_on.from_field", ref.valid_on.from_field), ("valid_on.to_field", ref.valid_on.to_field)])
    out += [f"{at}.{key}': field {name!r} is not declared for layer {ref.layer!r}"
            for key, name in named if name is not None and schema.field(name) is None]
    if ref.distance_by_kind:
        spec = schema.field(ref.kind_field)
        if spec is None:
            return out + [f"{at}.kind_field': field {ref.kind_field!r} is not declared for"
                          f" layer {ref.layer!r}"]
        out += [f"{at}.distance_by_kind': kind {k!r} {why}"
                for k in ref.distance_by_kind if (why := _value_problem(k, spec))]
    return out


def _example_problems(ex: Example, rule: Rule, schemas: Mapping[str, LayerSchema],
                      at: str) -> list[str]:
    out = []
    unknown = sorted(set(ex.other) - set(rule.layers[1:]))
    if unknown:
        out.append(f"{at}: key 'other': layers {unknown} are not among the rule's other layers"
                   f" {rule.layers[1:]}")
    feats = [(rule.subject.layer, ex.subject)] + [
        (layer, f) for layer, fs in ex.other.items() if layer in schemas for f in fs]
    for layer, feat in feats:
        schema = schemas.get(layer)
        if schema is None:
            continue
        for name, value in feat.fields.items():
            spec = schema.field(name)
            if name in DERIVED_FIELDS:
                out.append(f"{at}: field {name!r} is derived (computed from"
                           f" {listed(DERIVED_FIELDS[name].reads, 'or')}); give those fields instead")
            elif spec is None:
                out.append(f"{at}: field {name!r} is not declared for layer {layer!r}")
            elif why := _value_problem(value, spec):
                out.append(f"{at}: field {name!r}: value {value!r} {why}")
    return out

"""What one case's flag is worth, for the people who act on it: the field coordinator's case detail,
the case dossier and the field pack's case list.

The words are ``services.checks.rule_worth``'s (what ``check`` prints per rule), from each layer's
recorded expected error (``import --accuracy-m``), with the layer's recorded source, which names the
values assumed with ``--set`` ("kind=river ... (assumed, not observed)"). Only the provenance table is
read (no feature, so no restricted value); a layer ``identity`` may not see is named without its source.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from geo.rules import Rule, RuleSet
from layers.store.base import LayerInfo
from services.auth import Identity, may_see_layer
from services.checks import rule_worth
from services.imports import SET_MARK

__all__ = ["case_worth", "layer_errors", "pack_worth", "short_worth"]


def layer_errors(infos: Iterable[LayerInfo]) -> dict[str, float | None]:
    """Each recorded layer's expected positional error in metres (None: unknown)."""
    return {i.layer: i.accuracy_m for i in infos}


def case_worth(rule: Rule | None, infos: Iterable[LayerInfo], identity: Identity | None = None) -> str | None:
    """The accuracy line printed beside a case's distance: ``rule_worth`` for the rule's layers, then
    the recorded source of each that says values were given with ``--set``. None for a rule that is
    gone or measures no place (an attribute rule)."""
    if rule is None or rule.relation == "attribute":
        return None
    infos = list(infos)
    line = rule_worth(rule, layer_errors(infos))
    held = {i.layer: i for i in infos}
    assumed = [f"{lay}: {held[lay].source}" for lay in dict.fromkeys(rule.layers)
               if lay in held and SET_MARK in held[lay].source and (identity is None or may_see_layer(identity, lay))]
    return line + (f". Recorded source{'s' if len(assumed) > 1 else ''}: {'; '.join(assumed)}" if assumed else "")


def short_worth(rule: Rule | None, infos: Iterable[LayerInfo]) -> str | None:
    """The few words a phone's case label has room for: each layer's expected error, as
    ``rule_worth`` gives it, and "a lead, not proof" when ``rule_worth`` says the flags are leads."""
    if rule is None or rule.relation == "attribute":
        return None
    full = rule_worth(rule, layer_errors(infos))
    errors = full.split(";", 1)[0]
    return errors + (": a lead, not proof" if "not proof" in full else "")


def pack_worth(rules: RuleSet, infos: Iterable[LayerInfo], rule_ids: Iterable[object]) -> Mapping[str, str]:
    """``short_worth`` per rule id of ``rule_ids`` the rule file still has (for ``services.fieldpack``)."""
    infos = list(infos)
    known = {r.id: r for r in rules.rules}
    out: dict[str, str] = {}
    for rid in dict.fromkeys(str(r) for r in rule_ids):
        if (text := short_worth(known.get(rid), infos)) is not None:
            out[rid] = text
    return out

"""resolve_links, whole-column, gives exactly what the per-record loop it replaced gave (the oracle,
copied here): the same Links and the same problems (rows, text, order), on frames mixing every kind of
bad link."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import InputError, Problem
from geo.inventory.resurvey import LINK_FIELD, Links, _text, resolve_links
from geo.inventory.targets import round_ranks, survey_rounds
from geo.words import counted


def _given(values: pd.Series) -> np.ndarray:
    """True where a cell holds an id (see ``_text``), each distinct value tested once."""
    codes, uniques = pd.factorize(values)  # missing values: code -1
    return np.append(np.array([_text(u) is not None for u in uniques], dtype=bool), False)[codes]


def oracle_links(sites: pd.DataFrame, *, source: str = "mining_sites", strict: bool = True) -> Links:
    """Resolve ``resurvey_of`` over every record of ``sites`` (all areas: a link may cross them).

    Parameters
    ----------
    sites : the ``mining_sites`` records, with ``site_id``, ``survey_round`` / ``survey_date`` and
        optionally ``resurvey_of``; an optional ``_row`` column gives the records' row numbers.
    source : file or layer name used in error messages.
    strict : raise on a bad link; False: a bad link is no link (for a filtered view of the sites, which
        may leave out the earlier record; the inventory of the whole layer reports it).

    Returns
    -------
    Links. Without a ``resurvey_of`` value every record is its own site (``SAME_SITE`` is its
    ``site_id``) and none is superseded.

    Raises
    ------
    InputError
        naming the row, id, field and value of every link that is not the ``site_id`` of another
        record of an earlier round, and every second record of one site in the same round.
    """
    if LINK_FIELD not in sites.columns or not _given(sites[LINK_FIELD]).any():  # no link: each record a site
        own = sites["site_id"] if "site_id" in sites.columns else pd.Series(None, index=sites.index)
        return Links(own.map(_text).astype(object), pd.Series(False, index=sites.index, dtype=bool),
                     pd.Series(None, index=sites.index, dtype=object))
    ids = [_text(v) for v in sites["site_id"]] if "site_id" in sites.columns else [None] * len(sites)
    links = [_text(v) for v in sites[LINK_FIELD]]
    rounds = survey_rounds(sites).tolist()
    rank = round_ranks(sites)
    rows = sites["_row"].tolist() if "_row" in sites.columns else list(range(1, len(sites) + 1))
    where = {i: k for k, i in enumerate(ids) if i is not None}
    problems: list[Problem] = []

    def bad(k: int, expected: str) -> None:
        problems.append(Problem(source, int(rows[k]), LINK_FIELD, links[k], expected, feature_id=ids[k],
                                kind="link"))

    parent: list[int | None] = [None] * len(sites)
    for k, target in enumerate(links):
        if target is None:
            continue
        j = where.get(target)
        if j is None:
            bad(k, "the site_id of the same site in an earlier survey round: no site has this id")
        elif j == k:
            bad(k, "the site_id of the same site in an earlier survey round, not the record's own id")
        elif rank[rounds[j]] >= rank[rounds[k]]:
            bad(k, f"the site_id of the same site in an earlier survey round: {target} is of round"
                   f" {rounds[j]}, not before this record's round {rounds[k]}")
        else:
            parent[k] = j
    root = list(range(len(sites)))
    seen: dict[tuple[int, str], int] = {}
    for k in sorted(range(len(sites)), key=lambda k: (rank[rounds[k]], k)):  # earlier rounds first: parents done
        p = parent[k]
        root[k] = root[p] if p is not None else k
        first = seen.setdefault((root[k], rounds[k]), k)
        if first != k:  # only a linked record can meet its site again in its own round
            bad(k, f"one record of a site per survey round: row {rows[first]} ({ids[first]}) is already"
                   f" this site in round {rounds[k]}")
            parent[k], root[k] = None, k
    if problems and strict:
        raise InputError(f"{source}: {counted(len(problems), 're-survey link')} ({LINK_FIELD}) cannot be used", problems)
    latest: dict[int, int] = {}
    for k in range(len(sites)):
        best = latest.get(root[k])
        if best is None or rank[rounds[k]] > rank[rounds[best]]:
            latest[root[k]] = k
    same = [ids[root[k]] for k in range(len(sites))]
    return Links(pd.Series(same, index=sites.index, dtype=object),
                 pd.Series([latest[root[k]] != k for k in range(len(sites))], index=sites.index, dtype=bool),
                 pd.Series([ids[p] if p is not None else None for p in parent], index=sites.index, dtype=object))



_IDS = ["a", "b", "c", "d", "7", "7.0", " b "]
_CELLS = st.sampled_from(_IDS + [None, np.nan, "", "  ", "zz", 7, 7.0])


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 9))
    ids = draw(st.lists(st.sampled_from(_IDS + [None, "", "e", "f", "g", "h"]), min_size=n, max_size=n))
    frame = pd.DataFrame({"site_id": pd.Series(ids, dtype=object),
                          LINK_FIELD: pd.Series(draw(st.lists(_CELLS, min_size=n, max_size=n)), dtype=object),
                          "survey_round": pd.Series(draw(st.lists(st.sampled_from(["2019", "2021", "2023", None]),
                                                                  min_size=n, max_size=n)), dtype=object),
                          "survey_date": pd.Series(draw(st.lists(st.sampled_from(["2019-05-01", "2022-01-01", None]),
                                                                 min_size=n, max_size=n)), dtype=object)})
    if draw(st.booleans()):
        frame["_row"] = np.arange(n) * 3 + 2
    if draw(st.booleans()):
        frame.index = pd.Index(np.arange(n)[::-1] * 10)
    return frame


def _run(fn, frame: pd.DataFrame, strict: bool) -> tuple[Links | None, list[Problem]]:
    try:
        return fn(frame, source="s.csv", strict=strict), []
    except InputError as e:
        return None, list(e.problems)


@settings(max_examples=400, deadline=None)
@given(frames(), st.booleans())
def test_whole_column_links_equal_the_loop(frame: pd.DataFrame, strict: bool) -> None:
    got, got_problems = _run(resolve_links, frame, strict)
    want, want_problems = _run(oracle_links, frame, strict)
    assert got_problems == want_problems
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        for name in ("same_site", "superseded", "resurvey_of"):
            pd.testing.assert_series_equal(getattr(got, name), getattr(want, name), check_names=False)


def test_a_chain_a_cycle_and_a_second_record_in_a_round() -> None:
    frame = pd.DataFrame({"site_id": ["a", "b", "c", "x", "y", "d"],
                          LINK_FIELD: [None, "a", "b", "y", "x", "a"],
                          "survey_round": ["2019", "2021", "2023", "2021", "2021", "2021"]})
    got, problems = _run(resolve_links, frame, True)
    assert got is None and [(p.row, p.value) for p in problems] == [(4, "y"), (5, "x"), (6, "a")]
    assert [(p.row, p.value) for p in problems] == [(p.row, p.value) for p in _run(oracle_links, frame, True)[1]]
    links = resolve_links(frame, strict=False)
    assert links.same_site.tolist() == ["a", "a", "a", "x", "y", "d"]
    assert links.superseded.tolist() == [True, True, False, False, False, False]

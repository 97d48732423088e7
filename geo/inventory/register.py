"""Register-style counts per group: sites by size class, miners, registration, retorts in use.

Size classes follow the Kyrgyz baseline (003 L550-560): small under 1 g of gold a day with 1-2
diggers, average 5-10 g a day with 3-5 diggers, large over 10 g a day with more than 5.
"""
from __future__ import annotations

import pandas as pd

from geo.inventory._groups import ALL_SITES, group_labels
from geo.inventory.estimate import MERCURY_FREE, NOT_ESTIMABLE, NOT_OPERATING

SIZE_CLASSES = ("small", "average", "large", "unknown")


def register_counts(estimates: pd.DataFrame, *, by: str | None = "admin_area") -> pd.DataFrame:
    """Counts per group (one row for everything when ``by`` is None).

    Parameters
    ----------
    estimates : output of ``geo.inventory.estimate.estimate_sites`` (or any frame with the
        ``mining_sites`` fields and a ``basis`` column).
    by : the column to group by.

    Returns
    -------
    DataFrame with the group column (an empty value as "(not given)"), ``sites``,
    ``size_<class>`` for each size class (an empty class counts as unknown), ``miners`` and
    ``women_miners`` (sums of the figures given, people),
    ``sites_without_miner_count``, ``registered``, ``unregistered``, ``registration_unknown``,
    ``retorts_in_use`` (operating sites using mercury that burn in a retort), ``mercury_free``,
    ``not_operating`` and ``not_estimable`` (site counts).
    """
    frame = estimates.copy()
    key = by or "group"
    if by is None:
        frame[key] = ALL_SITES
    frame[key] = group_labels(frame[key])
    rows = [_counts(group, part, key) for group, part in frame.groupby(key, sort=True)]
    return pd.DataFrame(rows)


def _counts(group: str, part: pd.DataFrame, key: str) -> dict[str, object]:
    size = part["size_class"].map(
        lambda v: v if isinstance(v, str) and v in SIZE_CLASSES else "unknown")
    miners = pd.to_numeric(part["miners"], errors="coerce")
    women = pd.to_numeric(part["women_miners"], errors="coerce")
    registered = part["registered"].map(lambda v: None if v is None or pd.isna(v) else bool(v))
    free = part["basis"].isin([MERCURY_FREE, NOT_OPERATING])
    row: dict[str, object] = {key: group, "sites": len(part)}
    row.update({f"size_{c}": int((size == c).sum()) for c in SIZE_CLASSES})
    row.update({
        "miners": int(miners.sum()), "women_miners": int(women.sum()),
        "sites_without_miner_count": int(miners.isna().sum()),
        "registered": int(registered.eq(True).sum()),
        "unregistered": int(registered.eq(False).sum()),
        "registration_unknown": int(registered.isna().sum()),
        "retorts_in_use": int((part["burning"].eq("retort") & ~free).sum()),
        "mercury_free": int(part["basis"].eq(MERCURY_FREE).sum()),
        "not_operating": int(part["basis"].eq(NOT_OPERATING).sum()),
        "not_estimable": int(part["basis"].eq(NOT_ESTIMABLE).sum()),
    })
    return row

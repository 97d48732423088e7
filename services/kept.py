"""Answers a page keeps while the objects they were made from are the very same objects.

``HgWatch.shared`` gives every run of a page a new service object, but its frames, factors and
inventory are the view's shared answers: the same objects until the store or a settings file changes,
when new ones are made. An answer a page makes from them (the inventory page's roll-up and maps, the
overlays page's base map) is kept here against them, by identity: it is found again only while every
one of them is still the same live object (held weakly, so an old store state is freed and an id
reused by a new object never matches), so a run after a change makes it anew, and a view never gets
another view's answer (its frames are other objects). Kept per service object instead, such an answer
was made again on every click: at 5,382 sites the roll-up cost 0.7-0.8 s a run and the inventory
page's maps 2.3 s (2026-11-27, load 4.5).
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
SIZE = 16  # answers kept in the process (pages, views and choices a user goes back and forth between)

_kept: OrderedDict[tuple[str, Hashable, tuple[int, ...]], tuple[tuple[weakref.ref[Any], ...], Any]] = OrderedDict()
_lock = threading.Lock()


def kept(kind: str, made_from: Sequence[object], key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, or the answer it gave before for ``kind`` and ``key`` while every object of
    ``made_from`` is the same live object it was made from (each must allow weak references)."""
    sources = tuple(made_from)
    slot = (kind, key, tuple(id(o) for o in sources))
    with _lock:
        hit = _kept.get(slot)
        if hit is not None and all(ref() is o for ref, o in zip(hit[0], sources, strict=True)):
            _kept.move_to_end(slot)
            return hit[1]
    made = make()
    refs = tuple(weakref.ref(o) for o in sources)
    with _lock:
        _kept[slot] = (refs, made)
        _kept.move_to_end(slot)
        while len(_kept) > SIZE:
            _kept.popitem(last=False)
    return made

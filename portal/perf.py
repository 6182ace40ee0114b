"""Database round-trip and document counters: the numbers the budgets of PERFORMANCE.md are stated in.

Two interchangeable back ends, same report format:

* ``MongomockCounter`` -- patches ``mongomock.collection.Collection`` public
  methods.  mongomock emits no pymongo command-monitoring events, so this is
  the only way to see what the application asks of the database when it runs
  on the embedded default.  A re-entrancy guard makes sure that a public call
  that mongomock implements on top of another public call (find_one -> find,
  estimated_document_count -> count_documents, ...) is counted once.

* ``CommandCounter`` -- a ``pymongo.monitoring.CommandListener``.  On a real
  mongod this counts actual wire commands, including ``getMore`` batches and
  the commands pymongo issues by itself (e.g. ``endSessions``).  Register it
  with ``MongoClient(event_listeners=[counter])``.

Both expose ``.reset()``, ``.total`` and ``.by_key()`` so a benchmark can
report "round-trips per page" identically on both back ends.  Mapping:
mongomock ``find``/``find_one`` ~ wire ``find`` (+ ``getMore`` on a server when
> 101 docs or > 16 MiB), ``count_documents`` ~ ``aggregate`` ($match/$group),
``estimated_document_count`` ~ ``count``.
"""
from __future__ import annotations

import collections
import functools
import threading
import time

# ``find``/``find_one`` are NOT counted at call time: pymongo (and mongomock)
# only build a lazy cursor there -- mongoengine builds one just to call
# count() on it -- and nothing goes over the wire until the cursor is
# iterated.  They are counted when a mongomock Cursor actually executes
# (see _wrap_cursor), which matches the wire ``find`` command.
_COUNTED_METHODS = (
    "find_one_and_update", "find_one_and_replace",
    "find_one_and_delete", "count_documents", "estimated_document_count",
    "aggregate", "distinct", "insert_one", "insert_many", "update_one",
    "update_many", "replace_one", "delete_one", "delete_many", "bulk_write",
    "create_index", "create_indexes", "index_information", "list_indexes",
    "drop", "drop_index", "drop_indexes",
)


class MongomockCounter:
    def __init__(self):
        self._local = threading.local()
        self._counts = collections.Counter()
        self._installed = []
        self.enabled = True
        self.db_seconds = 0.0  # wall time spent inside (outermost) mongomock calls

    # -- patching ---------------------------------------------------------
    def install(self):
        import mongomock.collection as mc

        cls = mc.Collection
        for name in _COUNTED_METHODS:
            orig = getattr(cls, name, None)
            if orig is None:
                continue
            self._installed.append((cls, name, orig))
            setattr(cls, name, self._wrap(name, orig))
        orig = mc.Cursor._compute_results
        self._installed.append((mc.Cursor, "_compute_results", orig))
        mc.Cursor._compute_results = self._wrap_cursor(orig)
        return self

    def _wrap_cursor(self, orig):
        counter = self

        @functools.wraps(orig)
        def wrapper(cur, *args, **kwargs):
            will_execute = (not cur._results or
                            cur._factory_last_generated_results != cur._factory)
            outer = getattr(counter._local, "depth", 0) == 0
            if will_execute and counter.enabled and outer:
                counter._counts[(cur.collection.name, "find")] += 1
            if not (will_execute and outer):
                return orig(cur, *args, **kwargs)
            counter._local.depth = 1
            t0 = time.perf_counter()
            try:
                return orig(cur, *args, **kwargs)
            finally:
                counter._local.depth = 0
                counter.db_seconds += time.perf_counter() - t0

        return wrapper

    def uninstall(self):
        for cls, name, orig in reversed(self._installed):
            setattr(cls, name, orig)
        self._installed.clear()

    def _wrap(self, op, orig):
        counter = self

        @functools.wraps(orig)
        def wrapper(coll, *args, **kwargs):
            depth = getattr(counter._local, "depth", 0)
            if depth == 0 and counter.enabled:
                counter._counts[(coll.name, op)] += 1
            counter._local.depth = depth + 1
            t0 = time.perf_counter()
            try:
                return orig(coll, *args, **kwargs)
            finally:
                counter._local.depth = depth
                if depth == 0:
                    counter.db_seconds += time.perf_counter() - t0

        return wrapper

    # -- reporting --------------------------------------------------------
    def reset(self):
        self._counts.clear()
        self.db_seconds = 0.0

    @property
    def total(self):
        return sum(self._counts.values())

    def by_key(self):
        return dict(self._counts)

    def by_collection(self):
        out = collections.Counter()
        for (coll, _op), n in self._counts.items():
            out[coll] += n
        return dict(out)

    def by_op(self):
        out = collections.Counter()
        for (_coll, op), n in self._counts.items():
            out[op] += n
        return dict(out)


try:  # pymongo is always present with mongoengine, but keep import local-safe
    from pymongo import monitoring as _monitoring

    class CommandCounter(_monitoring.CommandListener):
        """Counts wire commands on a real server (pymongo command monitoring)."""

        IGNORED = {"endSessions", "hello", "isMaster", "ismaster", "ping",
                   "saslStart", "saslContinue", "buildInfo"}

        def __init__(self):
            self._counts = collections.Counter()
            self._micros = collections.Counter()
            self._lock = threading.Lock()

        def started(self, event):
            if event.command_name in self.IGNORED:
                return
            coll = event.command.get(event.command_name)
            if event.command_name == "getMore":
                coll = event.command.get("collection")
            with self._lock:
                self._counts[(str(coll), event.command_name)] += 1

        def succeeded(self, event):
            if event.command_name in self.IGNORED:
                return
            with self._lock:
                self._micros[event.command_name] += event.duration_micros

        def failed(self, event):
            pass

        def reset(self):
            with self._lock:
                self._counts.clear()
                self._micros.clear()

        @property
        def total(self):
            return sum(self._counts.values())

        def by_key(self):
            return dict(self._counts)

        def server_micros(self):
            return dict(self._micros)
except Exception:  # pragma: no cover
    CommandCounter = None


class DocCounter:
    """Counts mongoengine document materialisations (``_from_son`` calls) per
    class -- a deterministic measure of ODM work that holds on any back end."""

    def __init__(self):
        self._counts = collections.Counter()
        self._orig = None

    def install(self):
        from mongoengine.base.document import BaseDocument

        self._orig = BaseDocument.__dict__["_from_son"]
        orig_func = self._orig.__func__
        counts = self._counts

        def _from_son(cls, *args, **kwargs):
            counts[cls.__name__] += 1
            return orig_func(cls, *args, **kwargs)

        BaseDocument._from_son = classmethod(_from_son)
        return self

    def uninstall(self):
        from mongoengine.base.document import BaseDocument

        if self._orig is not None:
            BaseDocument._from_son = self._orig
            self._orig = None

    def reset(self):
        self._counts.clear()

    @property
    def total(self):
        return sum(self._counts.values())

    def by_class(self):
        return dict(self._counts)

"""Qdrant's own engine (qdrant-edge-py, pinned by scripts/install-qdrant-engine.sh) behind Qdrant's
REST API, for tests: the subset of Qdrant 1.19 that aura-stream and @qdrant/js-client-rest use.

Standard library only besides qdrant_edge. Not a test file: test/support/qdrant-engine.ts starts it
(`python qdrant-engine-shim.py --data DIR`) and puts its OpenAPI-validating proxy in front; this
process validates nothing against the document itself (the proxy does, both ways).

Contract:
- Listens on 127.0.0.1, on the port the OS picks (port 0), and prints `QDRANT_SHIM_PORT=<port>`
  as its first stdout line once it accepts connections. Ends on SIGTERM/SIGINT or when stdin
  closes (the parent died), flushing and closing every shard.
- One EdgeShard per collection, each in its own folder under --data (the engine holds one WAL lock
  per folder: one process per folder). Collection configs and aliases live in memory only.
- Aliases: `POST /collections/aliases` applies its actions all-or-nothing under the one lock every
  request takes, so a reader never sees a half-applied change; `/collections/{name}/...` resolves
  an alias to its collection. Deleting a collection drops its aliases.
- Engine errors (dimension, bad ids...) → 400 `Wrong input: <engine message>`; unknown collection
  → 404; existing name → 409; features not mapped here → 501 naming them, never an approximation.
- Booleans in `match` reach the engine as booleans (see `_bool`).
"""

import argparse
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import qdrant_edge as q

VERSION = "1.19.0"
DISTANCES = {"Cosine": q.Distance.Cosine, "Euclid": q.Distance.Euclid, "Dot": q.Distance.Dot, "Manhattan": q.Distance.Manhattan}
SCHEMA_TYPES = {
    "keyword": q.PayloadSchemaType.Keyword,
    "integer": q.PayloadSchemaType.Integer,
    "float": q.PayloadSchemaType.Float,
    "bool": q.PayloadSchemaType.Bool,
    "datetime": q.PayloadSchemaType.Datetime,
    "uuid": q.PayloadSchemaType.Uuid,
    "text": q.PayloadSchemaType.Text,
    "geo": q.PayloadSchemaType.Geo,
}
SCHEMA_NAMES = {v: k for k, v in SCHEMA_TYPES.items()}
# Qdrant's default k for `{"fusion": "rrf"}` (the engine has no default of its own).
RRF_DEFAULT_K = 2


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# The engine's MatchValue takes str | int | bool, and its binding tries int before bool: Python's
# True (an int) becomes 1 and matches only integer 1. The binding accepts a NumPy boolean as a
# boolean by its type name (`numpy.bool_`) and checks nothing else, so this stand-in of that name,
# without `__index__`, is read as the boolean it holds (NumPy 2's own bool_ has `__index__` and
# becomes an int again).
_NumpyBool = type("bool_", (), {"__module__": "numpy", "__bool__": lambda self: self.value, "__slots__": ("value",)})


def _bool(value):
    b = _NumpyBool()
    b.value = bool(value)
    return b


def _match_value(value):
    return _bool(value) if isinstance(value, bool) else value


# --------------------------------------------------------------------------------------------
# JSON → engine


def point_id(value):
    if isinstance(value, bool):
        raise HttpError(400, f"Wrong input: point id {value!r} is neither an unsigned integer nor a UUID")
    if isinstance(value, int):
        if value < 0:
            raise HttpError(400, f"Wrong input: point id {value} is negative")
        return value
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise HttpError(400, f"Wrong input: point id {value!r} is not a valid UUID") from None
    raise HttpError(400, f"Wrong input: point id {value!r} is neither an unsigned integer nor a UUID")


def out_id(value):
    return str(value) if isinstance(value, uuid.UUID) else value


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def condition(c):
    if not isinstance(c, dict):
        raise HttpError(400, f"Wrong input: condition {c!r}")
    if "has_id" in c:
        return q.HasIdCondition({point_id(i) for i in c["has_id"]})
    if "is_empty" in c:
        return q.IsEmptyCondition(c["is_empty"]["key"])
    if "is_null" in c:
        return q.IsNullCondition(c["is_null"]["key"])
    if "nested" in c:
        return q.NestedCondition(c["nested"]["key"], filter_of(c["nested"]["filter"]))
    if "has_vector" in c:
        return q.HasVectorCondition(c["has_vector"])
    if any(k in c for k in ("must", "should", "must_not", "min_should")):
        return filter_of(c)
    if "key" not in c:
        raise HttpError(501, f"qdrant engine shim: condition {json.dumps(c)[:120]} is not mapped")
    key = c["key"]
    kwargs = {}
    m = c.get("match")
    if m is not None:
        if "value" in m:
            kwargs["match"] = q.MatchValue(_match_value(m["value"]))
        elif "any" in m:
            kwargs["match"] = q.MatchAny(m["any"])
        elif "except" in m:
            kwargs["match"] = q.MatchExcept(m["except"])
        elif "text" in m:
            kwargs["match"] = q.MatchText(m["text"])
        elif "text_any" in m:
            kwargs["match"] = q.MatchTextAny(m["text_any"])
        elif "phrase" in m:
            kwargs["match"] = q.MatchPhrase(m["phrase"])
        else:
            raise HttpError(501, f"qdrant engine shim: match {json.dumps(m)} is not mapped")
    r = c.get("range")
    if r is not None:
        bounds = {k: r.get(k) for k in ("gt", "gte", "lt", "lte") if r.get(k) is not None}
        if any(isinstance(v, str) for v in bounds.values()):
            kwargs["range"] = q.RangeDateTime(**bounds)
        else:
            kwargs["range"] = q.RangeFloat(**{k: float(v) for k, v in bounds.items()})
    vc = c.get("values_count")
    if vc is not None:
        kwargs["values_count"] = q.ValuesCount(**{k: v for k, v in vc.items() if v is not None})
    if c.get("is_empty") is not None:
        kwargs["is_empty"] = c["is_empty"]
    if c.get("is_null") is not None:
        kwargs["is_null"] = c["is_null"]
    for unsupported in ("geo_bounding_box", "geo_radius", "geo_polygon", "datetime_range"):
        if c.get(unsupported) is not None:
            raise HttpError(501, f"qdrant engine shim: {unsupported} conditions are not mapped")
    if not kwargs:
        raise HttpError(400, f"Wrong input: condition on {key!r} has no match, range or count")
    return q.FieldCondition(key=key, **kwargs)


def filter_of(f):
    if f is None:
        return None
    kwargs = {}
    for part in ("must", "should", "must_not"):
        conds = as_list(f.get(part))
        if conds:
            kwargs[part] = [condition(c) for c in conds]
    ms = f.get("min_should")
    if ms is not None:
        kwargs["min_should"] = q.MinShould([condition(c) for c in ms["conditions"]], ms["min_count"])
    return q.Filter(**kwargs)


def sparse_of(value):
    return q.SparseVector(list(value["indices"]), [float(v) for v in value["values"]])


def is_sparse(value):
    return isinstance(value, dict) and "indices" in value and "values" in value


def dense_of(value, what):
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    raise HttpError(501, f"qdrant engine shim: {what} {json.dumps(value)[:80]} is not a dense vector (multivectors are not mapped)")


def vector_struct(value):
    """A point's `vector`: a dense list (the unnamed vector) or {name: dense | sparse}."""
    if isinstance(value, list):
        return dense_of(value, "vector")
    if isinstance(value, dict):
        return {name: sparse_of(v) if is_sparse(v) else dense_of(v, f"vector {name!r}") for name, v in value.items()}
    raise HttpError(501, f"qdrant engine shim: vector {json.dumps(value)[:80]} is not mapped (documents and images need inference)")


def with_payload_of(value, default):
    if value is None:
        return default
    if isinstance(value, (bool, list)):
        return value
    if "include" in value:
        return q.PayloadSelector.Include(as_list(value["include"]))
    if "exclude" in value:
        return q.PayloadSelector.Exclude(as_list(value["exclude"]))
    raise HttpError(501, f"qdrant engine shim: with_payload {json.dumps(value)} is not mapped")


def with_vector_of(value):
    return False if value is None else value


def order_by_of(value):
    if isinstance(value, str):
        return q.OrderBy(value)
    direction = value.get("direction")
    start = value.get("start_from")
    if isinstance(start, dict):
        raise HttpError(501, "qdrant engine shim: start_from by datetime is not mapped")
    return q.OrderBy(value["key"], {"asc": q.Direction.Asc, "desc": q.Direction.Desc}.get(direction) if direction else None, start)


def query_of(value, using):
    """A Query API `query` (QueryInterface) as an engine scoring query."""
    if value is None:
        return None
    if isinstance(value, list) or is_sparse(value):
        return q.Query.Nearest(sparse_of(value) if is_sparse(value) else dense_of(value, "query"), using=using)
    if isinstance(value, dict):
        if "nearest" in value:
            return query_of(value["nearest"], using)
        if "fusion" in value:
            if value["fusion"] == "rrf":
                return q.Fusion.Rrf(k=RRF_DEFAULT_K)
            if value["fusion"] == "dbsf":
                return q.Fusion.Dbsf()
        if "rrf" in value:
            rrf = value["rrf"] or {}
            return q.Fusion.Rrf(k=rrf.get("k") or RRF_DEFAULT_K, weights=rrf.get("weights"))
        if "order_by" in value:
            return order_by_of(value["order_by"])
        if value.get("sample") == "random":
            return q.Sample.Random
    raise HttpError(501, f"qdrant engine shim: query {json.dumps(value)[:120]} is not mapped (point-id queries, recommend, discover, formulas)")


def search_params_of(value):
    if not value:
        return None
    return q.SearchParams(hnsw_ef=value.get("hnsw_ef"), exact=bool(value.get("exact", False)))


def prefetch_of(p):
    if p.get("lookup_from") is not None:
        raise HttpError(501, "qdrant engine shim: lookup_from is not mapped")
    return q.Prefetch(
        limit=p.get("limit") if p.get("limit") is not None else 10,
        query=query_of(p.get("query"), p.get("using")),
        prefetches=[prefetch_of(x) for x in as_list(p.get("prefetch"))] or None,
        params=search_params_of(p.get("params")),
        filter=filter_of(p.get("filter")),
        score_threshold=p.get("score_threshold"),
    )


# --------------------------------------------------------------------------------------------
# engine → JSON


def vector_out(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {name: vector_out(v) for name, v in value.items()}
    if isinstance(value, q.SparseVector):
        return {"indices": list(value.indices), "values": list(value.values)}
    return list(value)


def record_out(r, scored):
    out = {"id": out_id(r.id)}
    if scored:
        out["version"] = r.version
        out["score"] = r.score
    if r.payload is not None:
        out["payload"] = r.payload
    if r.vector is not None:
        out["vector"] = vector_out(r.vector)
    if r.order_value is not None:
        out["order_value"] = r.order_value
    return out


# --------------------------------------------------------------------------------------------
# Collections and aliases


class Collection:
    def __init__(self, name, folder, body):
        self.name = name
        self.folder = folder
        vectors = body.get("vectors")
        sparse = body.get("sparse_vectors") or {}
        if vectors is None and not sparse:
            raise HttpError(400, "Wrong input: a collection needs dense or sparse vectors")
        if vectors is None:
            dense = None
        elif "size" in vectors:
            dense = self._dense_params(vectors, "")
        else:
            dense = {name: self._dense_params(v, name) for name, v in vectors.items()}
        sparse_params = {}
        for sname, s in sparse.items():
            s = s or {}
            if s.get("index"):
                raise HttpError(501, "qdrant engine shim: sparse index parameters are not mapped")
            modifier = s.get("modifier")
            sparse_params[sname] = q.EdgeSparseVectorParams(modifier=q.Modifier.Idf) if modifier == "idf" else q.EdgeSparseVectorParams()
        for unsupported in ("sharding_method", "quantization_config", "init_from", "strict_mode_config"):
            if body.get(unsupported) is not None:
                raise HttpError(501, f"qdrant engine shim: collection option {unsupported!r} is not mapped")
        self.vectors = vectors
        self.metadata = dict(body.get("metadata") or {})
        self.sparse = {k: {"modifier": (v or {}).get("modifier") or "none"} for k, v in sparse.items()}
        self.shard = q.EdgeShard.create(folder, q.EdgeConfig(vectors=dense, sparse_vectors=sparse_params or None))
        self.operation = 0
        self.index_params = {}

    @staticmethod
    def _dense_params(v, name):
        if v.get("multivector_config") or v.get("quantization_config") or v.get("datatype") not in (None, "float32"):
            raise HttpError(501, f"qdrant engine shim: options of vector {name!r} beyond size and distance are not mapped")
        return q.EdgeVectorParams(size=int(v["size"]), distance=DISTANCES[v["distance"]])

    def update(self, op, wait):
        self.shard.update(op)
        self.operation += 1
        return {"operation_id": self.operation, "status": "completed" if wait else "acknowledged"}

    def info(self):
        engine = self.shard.info()
        schema = {}
        for field, idx in engine.payload_schema.items():
            entry = {"data_type": SCHEMA_NAMES.get(idx.data_type, "keyword"), "points": idx.points}
            if field in self.index_params:
                entry["params"] = self.index_params[field]
            schema[field] = entry
        params = {"shard_number": 1, "replication_factor": 1, "write_consistency_factor": 1, "on_disk_payload": True}
        if self.vectors is not None:
            params["vectors"] = self.vectors
        if self.sparse:
            params["sparse_vectors"] = self.sparse
        return {
            "status": "green",
            "optimizer_status": "ok",
            "indexed_vectors_count": engine.indexed_vectors_count,
            "points_count": engine.points_count,
            "segments_count": engine.segments_count,
            "config": {
                "params": params,
                "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000, "max_indexing_threads": 0, "on_disk": False},
                "optimizer_config": {
                    "deleted_threshold": 0.2,
                    "vacuum_min_vector_number": 1000,
                    "default_segment_number": 0,
                    "max_segment_size": None,
                    "memmap_threshold": None,
                    "indexing_threshold": 10000,
                    "flush_interval_sec": 5,
                    "max_optimization_threads": None,
                },
                "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
                "quantization_config": None,
                **({"metadata": self.metadata} if self.metadata else {}),
            },
            "payload_schema": schema,
        }

    def close(self):
        try:
            self.shard.flush()
        finally:
            self.shard.close()


class Store:
    def __init__(self, data):
        self.data = data
        self.lock = threading.RLock()
        self.collections = {}
        self.aliases = {}
        self.folders = 0

    def resolve(self, name):
        c = self.collections.get(self.aliases.get(name, name))
        if c is None:
            raise HttpError(404, f"Not found: Collection `{name}` doesn't exist!")
        return c

    def create(self, name, body):
        if name in self.collections:
            raise HttpError(409, f"Wrong input: Collection `{name}` already exists!")
        if name in self.aliases:
            raise HttpError(409, f"Wrong input: Collection `{name}` already exists as an alias!")
        self.folders += 1
        folder = os.path.join(self.data, f"shard-{self.folders}")
        self.collections[name] = Collection(name, folder, body)

    def drop(self, name):
        c = self.collections.pop(name, None)
        if c is None:
            return False
        self.aliases = {a: t for a, t in self.aliases.items() if t != name}
        c.close()
        shutil.rmtree(c.folder, ignore_errors=True)
        return True

    def change_aliases(self, actions):
        aliases = dict(self.aliases)
        for action in actions:
            if "create_alias" in action:
                a = action["create_alias"]
                if a["collection_name"] not in self.collections:
                    raise HttpError(404, f"Not found: Collection `{a['collection_name']}` doesn't exist!")
                if a["alias_name"] in self.collections:
                    raise HttpError(409, f"Wrong input: Alias `{a['alias_name']}` is the name of a collection")
                aliases[a["alias_name"]] = a["collection_name"]
            elif "delete_alias" in action:
                aliases.pop(action["delete_alias"]["alias_name"], None)
            elif "rename_alias" in action:
                a = action["rename_alias"]
                if a["old_alias_name"] not in aliases:
                    raise HttpError(404, f"Not found: Alias {a['old_alias_name']} does not exists!")
                if a["new_alias_name"] in self.collections:
                    raise HttpError(409, f"Wrong input: Alias `{a['new_alias_name']}` is the name of a collection")
                aliases[a["new_alias_name"]] = aliases.pop(a["old_alias_name"])
            else:
                raise HttpError(400, f"Wrong input: unknown alias action {json.dumps(action)}")
        self.aliases = aliases

    def alias_list(self, collection=None):
        return [{"alias_name": a, "collection_name": t} for a, t in sorted(self.aliases.items()) if collection is None or t == collection]

    def close(self):
        with self.lock:
            for c in list(self.collections.values()):
                try:
                    c.close()
                except Exception as err:  # noqa: BLE001 - closing the rest matters more
                    print(f"qdrant engine shim: closing {c.name}: {err}", file=sys.stderr)
            self.collections.clear()


# --------------------------------------------------------------------------------------------
# Routes


def r_root(store, p, qs, body):
    return {"title": "qdrant - vector search engine", "version": VERSION, "commit": None}


def r_list(store, p, qs, body):
    return {"collections": [{"name": n} for n in sorted(store.collections)]}


def r_get(store, p, qs, body):
    return store.resolve(p["name"]).info()


def r_exists(store, p, qs, body):
    name = p["name"]
    return {"exists": store.aliases.get(name, name) in store.collections}


def r_create(store, p, qs, body):
    store.create(p["name"], body)
    return True


def r_update(store, p, qs, body):
    c = store.resolve(p["name"])
    for key, value in body.items():
        if key == "metadata":
            # Qdrant merges the given keys into the collection's metadata.
            c.metadata.update(value or {})
        elif value is not None:
            raise HttpError(501, f"qdrant engine shim: updating {key!r} of a collection is not mapped")
    return True


def r_delete(store, p, qs, body):
    return store.drop(p["name"])


def r_aliases(store, p, qs, body):
    store.change_aliases(body["actions"])
    return True


def r_all_aliases(store, p, qs, body):
    return {"aliases": store.alias_list()}


def r_collection_aliases(store, p, qs, body):
    c = store.resolve(p["name"])
    return {"aliases": store.alias_list(c.name)}


def r_index(store, p, qs, body):
    c = store.resolve(p["name"])
    schema = body.get("field_schema")
    if schema is None:
        raise HttpError(501, "qdrant engine shim: field_schema is required (type inference is not mapped)")
    field = body["field_name"]
    if isinstance(schema, str):
        engine_schema = SCHEMA_TYPES[schema]
        c.index_params.pop(field, None)
    else:
        kind = schema["type"]
        options = {k: v for k, v in schema.items() if k != "type" and v is not None}
        cls = {
            "keyword": q.KeywordIndexParams,
            "integer": q.IntegerIndexParams,
            "float": q.FloatIndexParams,
            "bool": q.BoolIndexParams,
            "datetime": q.DatetimeIndexParams,
            "uuid": q.UuidIndexParams,
        }.get(kind)
        if cls is None:
            raise HttpError(501, f"qdrant engine shim: {kind} index parameters are not mapped")
        try:
            engine_schema = cls(**options)
        except TypeError as err:
            raise HttpError(501, f"qdrant engine shim: {kind} index option not mapped: {err}") from None
        c.index_params[field] = schema
    return c.update(q.UpdateOperation.create_field_index(field, engine_schema), wait_of(qs))


def r_delete_index(store, p, qs, body):
    c = store.resolve(p["name"])
    c.index_params.pop(p["field"], None)
    return c.update(q.UpdateOperation.delete_field_index(p["field"]), wait_of(qs))


def r_upsert(store, p, qs, body):
    c = store.resolve(p["name"])
    for unsupported in ("shard_key", "update_filter"):
        if body.get(unsupported) is not None:
            raise HttpError(501, f"qdrant engine shim: {unsupported!r} is not mapped")
    if "batch" in body:
        b = body["batch"]
        ids = b["ids"]
        vectors = b["vectors"]
        payloads = b.get("payloads") or [None] * len(ids)
        if isinstance(vectors, dict):
            per_point = [{name: vs[i] for name, vs in vectors.items()} for i in range(len(ids))]
        else:
            per_point = vectors
        raw = [{"id": i, "vector": v, "payload": pl} for i, v, pl in zip(ids, per_point, payloads)]
    else:
        raw = body["points"]
    points = [q.Point(point_id(x["id"]), vector_struct(x["vector"]), x.get("payload") or {}) for x in raw]
    mode = {"upsert": q.UpdateMode.Upsert, "insert_only": q.UpdateMode.InsertOnly, "update_only": q.UpdateMode.UpdateOnly}.get(body.get("update_mode") or "upsert")
    return c.update(q.UpdateOperation.upsert_points(points, update_mode=mode), wait_of(qs))


def r_delete_points(store, p, qs, body):
    c = store.resolve(p["name"])
    if body.get("shard_key") is not None:
        raise HttpError(501, "qdrant engine shim: 'shard_key' is not mapped")
    if "points" in body:
        op = q.UpdateOperation.delete_points([point_id(i) for i in body["points"]])
    else:
        op = q.UpdateOperation.delete_points_by_filter(filter_of(body["filter"]))
    return c.update(op, wait_of(qs))


def r_count(store, p, qs, body):
    c = store.resolve(p["name"])
    return {"count": c.shard.count(q.CountRequest(exact=body.get("exact", True) is not False, filter=filter_of(body.get("filter"))))}


def r_scroll(store, p, qs, body):
    c = store.resolve(p["name"])
    order_by = body.get("order_by")
    offset = body.get("offset")
    request = q.ScrollRequest(
        offset=point_id(offset) if offset is not None else None,
        limit=body.get("limit") if body.get("limit") is not None else 10,
        filter=filter_of(body.get("filter")),
        with_payload=with_payload_of(body.get("with_payload"), True),
        with_vector=with_vector_of(body.get("with_vector")),
        order_by=order_by_of(order_by) if order_by is not None else None,
    )
    records, next_offset = c.shard.scroll(request)
    return {"points": [record_out(r, False) for r in records], "next_page_offset": out_id(next_offset) if next_offset is not None else None}


def r_query(store, p, qs, body):
    c = store.resolve(p["name"])
    for unsupported in ("shard_key", "lookup_from"):
        if body.get(unsupported) is not None:
            raise HttpError(501, f"qdrant engine shim: {unsupported!r} is not mapped")
    request = q.QueryRequest(
        limit=body.get("limit") if body.get("limit") is not None else 10,
        offset=body.get("offset"),
        query=query_of(body.get("query"), body.get("using")),
        prefetches=[prefetch_of(x) for x in as_list(body.get("prefetch"))] or None,
        with_vector=with_vector_of(body.get("with_vector")),
        with_payload=with_payload_of(body.get("with_payload"), False),
        filter=filter_of(body.get("filter")),
        score_threshold=body.get("score_threshold"),
        params=search_params_of(body.get("params")),
    )
    return {"points": [record_out(r, True) for r in c.shard.query(request)]}


def r_retrieve(store, p, qs, body):
    c = store.resolve(p["name"])
    records = c.shard.retrieve([point_id(i) for i in body["ids"]], with_payload_of(body.get("with_payload"), True), with_vector_of(body.get("with_vector")))
    return [record_out(r, False) for r in records]


def wait_of(qs):
    return qs.get("wait", ["false"])[0] == "true"


ROUTES = [
    ("GET", "/", r_root, True),
    ("GET", "/collections", r_list, False),
    ("POST", "/collections/aliases", r_aliases, False),
    ("GET", "/aliases", r_all_aliases, False),
    ("GET", "/collections/{name}", r_get, False),
    ("GET", "/collections/{name}/exists", r_exists, False),
    ("GET", "/collections/{name}/aliases", r_collection_aliases, False),
    ("PUT", "/collections/{name}", r_create, False),
    ("PATCH", "/collections/{name}", r_update, False),
    ("DELETE", "/collections/{name}", r_delete, False),
    ("PUT", "/collections/{name}/index", r_index, False),
    ("DELETE", "/collections/{name}/index/{field}", r_delete_index, False),
    ("PUT", "/collections/{name}/points", r_upsert, False),
    ("POST", "/collections/{name}/points", r_retrieve, False),
    ("POST", "/collections/{name}/points/delete", r_delete_points, False),
    ("POST", "/collections/{name}/points/count", r_count, False),
    ("POST", "/collections/{name}/points/scroll", r_scroll, False),
    ("POST", "/collections/{name}/points/query", r_query, False),
]
COMPILED = [(m, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), fn, bare) for m, path, fn, bare in ROUTES]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None

    def log_message(self, fmt, *args):  # quiet: the proxy records every request
        pass

    def _handle(self):
        started = time.perf_counter()
        url = urlparse(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, bare, result = 200, False, None
        try:
            body = json.loads(raw) if raw else {}
            for method, regex, fn, is_bare in COMPILED:
                m = regex.match(url.path) if method == self.command else None
                if m:
                    params = {k: unquote(v) for k, v in m.groupdict().items()}
                    bare = is_bare
                    with self.store.lock:
                        result = fn(self.store, params, parse_qs(url.query), body)
                    break
            else:
                raise HttpError(404, f"qdrant engine shim: no route for {self.command} {url.path}")
            payload = result if bare else {"result": result, "status": "ok", "time": time.perf_counter() - started}
        except HttpError as err:
            status, payload = err.status, {"status": {"error": str(err)}, "time": time.perf_counter() - started}
        except json.JSONDecodeError as err:
            status, payload = 400, {"status": {"error": f"Format error in JSON body: {err}"}, "time": 0}
        except Exception as err:  # noqa: BLE001 - the engine raises plain Exceptions for bad input
            status, payload = 400, {"status": {"error": f"Wrong input: {err}"}, "time": time.perf_counter() - started}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder for the shards (one subfolder per collection)")
    parser.add_argument("--port", type=int, default=0, help="loopback port; 0 = chosen by the OS")
    args = parser.parse_args()
    os.makedirs(args.data, exist_ok=True)
    store = Store(args.data)
    Handler.store = store
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    done = threading.Event()

    def stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # stdin closes when the parent dies (it holds the pipe): no orphaned engine.
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"QDRANT_SHIM_PORT={server.server_address[1]}", flush=True)
    done.wait()
    server.shutdown()
    store.close()


if __name__ == "__main__":
    main()

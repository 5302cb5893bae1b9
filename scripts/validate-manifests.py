#!/usr/bin/env python3
"""Validates Kubernetes manifests offline; run with the venv of scripts/install-tools.sh.

Usage: validate-manifests.py FILE... ('-' reads stdin). Every YAML document is checked:
  - built-in kinds against the Kubernetes OpenAPI schemas bundled in kubernetes-validate, strict
    (unknown fields are errors), for KUBERNETES_VERSION (default: the package's newest);
  - KEDA kinds (keda.sh/*) against cloudcoil-models-keda, pydantic models generated from KEDA's
    CRDs: types and required fields by the models, unknown fields by comparing what the model kept
    with what was given (pydantic would otherwise drop them silently);
  - any other kind is an error (nothing passes unchecked).
Prints one JSON object per document ({source, index, kind, name, ok, error?, document}) and exits
1 if any document failed.
"""
import json
import os
import sys

import yaml
import kubernetes_validate
import pydantic
from cloudcoil.models.keda import v1alpha1 as keda

VERSION = os.environ.get("KUBERNETES_VERSION") or kubernetes_validate.utils.latest_version()


def unknown_fields(given, kept, path=""):
    """Paths present in `given` but absent from the model's dump `kept` (both plain JSON)."""
    out = []
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key not in kept:
                out.append(f"{path}.{key}")
            else:
                out += unknown_fields(value, kept[key], f"{path}.{key}")
    elif isinstance(given, list) and isinstance(kept, list):
        for i, (g, k) in enumerate(zip(given, kept)):
            out += unknown_fields(g, k, f"{path}[{i}]")
    return out


def check_keda(doc):
    model = getattr(keda, doc.get("kind", ""), None)
    if model is None or not isinstance(model, type) or not issubclass(model, pydantic.BaseModel):
        raise ValueError(f"unknown KEDA kind {doc.get('kind')!r}")
    try:
        parsed = model.model_validate(doc)
    except pydantic.ValidationError as err:
        raise ValueError(str(err)) from None
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    extra = unknown_fields(doc, kept)
    if extra:
        raise ValueError(f"fields not in the {doc['kind']} schema: {', '.join(extra)}")


def check(doc):
    api = str(doc.get("apiVersion", ""))
    if api.startswith("keda.sh/"):
        check_keda(doc)
        return
    try:
        kubernetes_validate.validate(doc, VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        raise ValueError(f"no schema for {api} {doc.get('kind')} in Kubernetes {VERSION}") from None
    except kubernetes_validate.ValidationError as err:
        where = ".".join(str(p) for p in err.path)
        raise ValueError(f"{where}: {err.message}") from None


def main(paths):
    failed = False
    for source in paths:
        text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()
        for index, doc in enumerate(d for d in yaml.safe_load_all(text) if d is not None):
            row = {"source": source, "index": index, "kind": doc.get("kind"), "name": (doc.get("metadata") or {}).get("name"), "ok": True}
            try:
                check(doc)
            except Exception as err:  # noqa: BLE001 - every failure is reported, none raised
                row.update(ok=False, error=str(err))
                failed = True
            row["document"] = doc
            print(json.dumps(row, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["-"]))

"""The reference tables shipped with the app: the ICD-10 table (``data/icd10_campus.csv``,
docs/icd10.md) and the clinic's price list (``data/price_list_campus.csv``).

Data migrations load them, so every database has them. The post-migrate guard loads them again
into an empty table only: a test that truncates every table (``transactional_db``) or a database
restored without them gets them back, and a price list edited in production is never touched.
Loaders take the model class so migrations can pass their historical models.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
ICD10_CSV = DATA_DIR / "icd10_campus.csv"
PRICE_LIST_CSV = DATA_DIR / "price_list_campus.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(stream)]


def icd10_rows() -> list[dict[str, Any]]:
    return [
        {
            "code": row["code"],
            "clinical_code": row["clinical_code"],
            "name_zh": row["name_zh"],
            "name_en": row["name_en"],
            "chapter": row["chapter"],
            "common": row["common"] == "1",
            "aliases": row["aliases"],
        }
        for row in _rows(ICD10_CSV)
    ]


def price_list_rows() -> list[dict[str, Any]]:
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "name_en": row["name_en"],
            "kind": row["kind"],
            "specification": row["specification"],
            "unit": row["unit"],
            "unit_price": int(row["unit_price"]),
            "sort_order": position,
        }
        for position, row in enumerate(_rows(PRICE_LIST_CSV))
    ]


def icd10_load(model: Any) -> int:
    """Insert the codes that are missing and refresh the names of those present (by code)."""
    existing = {obj.code: obj for obj in model.objects.all()}
    new, changed = [], []
    for row in icd10_rows():
        obj = existing.get(row["code"])
        if obj is None:
            new.append(model(**row))
        elif any(getattr(obj, key) != value for key, value in row.items()):
            for key, value in row.items():
                setattr(obj, key, value)
            changed.append(obj)
    model.objects.bulk_create(new, batch_size=500)
    if changed:
        model.objects.bulk_update(changed, ["clinical_code", "name_zh", "name_en", "chapter", "common", "aliases"])
    return len(new) + len(changed)


def price_list_load(model: Any) -> int:
    """Insert the items whose code is missing; items already there keep their (maybe edited) price."""
    import uuid

    present = set(model.objects.values_list("code", flat=True))
    new = [model(public_id=uuid.uuid4(), **row) for row in price_list_rows() if row["code"] not in present]
    model.objects.bulk_create(new)
    return len(new)


def ensure_reference_data(*, apps: Any = None, **kwargs: Any) -> None:
    """post_migrate: fill the reference tables when they are empty (see the module docstring).
    ``migrate`` passes its migration state as ``apps``; ``flush`` passes none (the app registry
    then describes the tables as they are)."""
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    try:
        icd10 = apps.get_model("visits", "Icd10Code")
        price_item = apps.get_model("visits", "PriceItem")
    except LookupError:  # migrating backwards past the tables
        return
    if not icd10.objects.exists():
        icd10_load(icd10)
    if not price_item.objects.exists():
        price_list_load(price_item)

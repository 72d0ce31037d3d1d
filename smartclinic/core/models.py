"""The base every domain model stands on: a public UUID for URLs and payloads, and timestamps."""

from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

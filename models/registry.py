"""Every model class registers here so `flask init-db` can create all indexes."""
from __future__ import annotations

_models: list[type] = []


def register(model: type) -> type:
    if model not in _models:
        _models.append(model)
    return model


def all_models() -> list[type]:
    # Importing the package imports every model module, which registers its class.
    import models  # noqa: F401

    return list(_models)

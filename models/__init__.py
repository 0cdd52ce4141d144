"""Thin pymongo-backed model classes, one per collection.

`models.registry.ALL_MODELS` lists them all; the app factory registers that list
(`models.indexes.init_app`), so importing this package or any model module registers
nothing.
"""

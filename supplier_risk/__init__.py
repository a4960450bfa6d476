"""Rare-earth supplier disruption risk: the record, reference data, features and scoring."""

__version__ = "0.1.0"

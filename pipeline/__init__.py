"""Ingestion and warehouse: raw submissions in, typed rows out. No web framework here."""

"""Submissions that reach us from elsewhere: KoBoToolbox and ODK Central pulls, and instance
folders copied off a phone. Every one enters through ``pipeline.ingest.accept``, like a Collect
upload, so the raw store's rule (one submission per instanceID) holds across every source.

``requests`` is imported here and nowhere else in the codebase.
"""

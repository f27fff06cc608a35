"""Similarity exclusion: exact dedup, then near-duplicate removal with sentence embeddings."""

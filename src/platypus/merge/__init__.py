"""Merging: adapters into their base, adapter transplants, and model merges, tensor by tensor."""

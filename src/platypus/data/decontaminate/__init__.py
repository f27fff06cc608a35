"""Contamination check: training items that leak benchmark test items, classified and removed."""

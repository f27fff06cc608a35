"""Evaluation: log-likelihood scoring of multiple-choice benchmarks."""

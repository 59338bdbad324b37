"""Versioned model artifacts: files on disk (:mod:`artifacts.store`) and the registry of
versions in Redis with one active version (:mod:`artifacts.registry`).

Generic over what the model is: intent classifiers and latent-factor rankers use both, and
keep their own metadata fields and compatibility checks in their packages.
"""

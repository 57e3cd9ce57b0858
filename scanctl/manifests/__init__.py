"""Offline manifests: format, signing, verification, sealed event keys, deltas."""

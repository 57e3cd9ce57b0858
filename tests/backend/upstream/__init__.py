"""Tests of scanctl.backend.upstream."""

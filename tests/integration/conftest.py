"""Fixtures: the stand-in backend of the client suite, for gates that talk to it."""

from tests.client.fake_backend import _fake_server, fake, url

__all__ = ["_fake_server", "fake", "url"]

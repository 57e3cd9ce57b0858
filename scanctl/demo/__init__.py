"""`scanctl demo`: the whole system on one machine, in a temporary directory."""

from scanctl.demo.stack import DemoOptions, DemoStack, Summary

__all__ = ["DemoOptions", "DemoStack", "Summary"]

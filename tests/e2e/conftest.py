"""The browser tests' Chromium, one per test process (a session fixture must live in a conftest)."""

from _browser import chromium_process

__all__ = ["chromium_process"]

"""Baton: a self-hosted AI agent orchestrator."""

__version__ = "0.1.0"

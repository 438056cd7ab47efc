"""Plugins shipped with Baton; enable one with ``BATON_PLUGINS=baton.plugins.<name>``."""

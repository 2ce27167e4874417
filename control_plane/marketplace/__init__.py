"""Plugins marketplace: the catalog of Clew Code CLI plugins, searchable by tag and text."""

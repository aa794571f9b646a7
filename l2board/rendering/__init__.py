"""Renderers: the comparison as a table, Markdown, CSV, JSON and a figure."""

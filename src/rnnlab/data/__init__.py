"""Data sources and generators."""

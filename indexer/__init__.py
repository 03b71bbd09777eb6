"""Turns reports, status answers and minutes into passages in the knowledge store."""
from .pipeline import IndexReport, collect_files, index_paths, prepare

__all__ = ["IndexReport", "collect_files", "index_paths", "prepare"]

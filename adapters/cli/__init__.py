"""The `husbot` command line: each command builds the same objects the chat surfaces use and calls one method."""
from .main import main

__all__ = ["main"]

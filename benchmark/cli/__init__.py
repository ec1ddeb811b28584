"""The command line: argument parsing, calls into the library, printing and exit codes (0 ok, 1 some work
failed, 2 usage error or nothing to run). Nothing in the library imports it."""

from benchmark.cli.main import main

__all__ = ["main"]

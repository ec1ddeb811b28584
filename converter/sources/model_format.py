"""The error of a model folder whose files the toolkit cannot read (converter.sources.model_files and the readers of
the files beside a program: deploy_yaml, paddlex_yml; the PIR translator's errors derive from it)."""

from __future__ import annotations

from converter.base.errors import ToolkitError


class ModelFormatError(ToolkitError):
    """A model folder is missing files, is in a format opt cannot read, or has an unreadable deploy.yaml. The message
    starts with the file or folder; subclasses carry theirs as fields (PirTranslationError.path and .op, ...)."""

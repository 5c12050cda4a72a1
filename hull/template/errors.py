"""The one error type of the template package."""

from __future__ import annotations


class TemplateError(ValueError):
    """A template failed to parse or execute; the message is one line in Go's wording,
    e.g. ``template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type X``."""

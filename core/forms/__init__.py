"""Forms: JSON Schema answers validated once-compiled, errors turned into GOV.UK-style messages."""

from caseframe.core.forms.validation import FieldError, Form, compile_form

__all__ = ["FieldError", "Form", "compile_form"]

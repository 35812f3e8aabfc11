"""Workflows: the states of an area's cases and who may move them, checked before any write."""

from caseframe.core.workflows.engine import Guard, Refusal, Transition, Workflow

__all__ = ["Guard", "Refusal", "Transition", "Workflow"]

"""Fixtures for the pure tool tests: a project with one annotation, a History and a ToolContext
whose push() records every edit (so tests can assert one edit per gesture)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from segstudio.core.history import History
from segstudio.core.model import ImageAnnotation, LabelClass, Project
from segstudio.tools.base import ToolContext


@dataclass
class Doc:
    project: Project
    ann: ImageAnnotation
    history: History
    ctx: ToolContext
    pushed: list = field(default_factory=list)
    answers: list = field(default_factory=list)   # what ask_label() returns next (default cat)
    label: str | None = "cat"                   # what current_label() returns

    def activate(self, tool):
        tool.activate(self.ctx)
        return tool


def make_doc(width: int = 120, height: int = 80) -> Doc:
    project = Project()
    project.classes = [LabelClass("cat", (255, 0, 0)), LabelClass("dog", (0, 0, 255))]
    ann = ImageAnnotation("img.png", width, height)
    project.annotations["k"] = ann
    history = History(project)
    doc: Doc

    def push(edit):
        doc.pushed.append(edit)
        history.push(edit)

    def ask_label():
        return doc.answers.pop(0) if doc.answers else ("cat", None)

    ctx = ToolContext("k", ann, project, lambda: doc.label, ask_label, push, (width, height))
    doc = Doc(project, ann, history, ctx)
    return doc


@pytest.fixture
def doc() -> Doc:
    return make_doc()

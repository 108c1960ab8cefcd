"""The API described: the OpenAPI document for tools, and the same document as a page for
people (server-rendered, no script, like every other page)."""

from __future__ import annotations

import re

from flask import Response, jsonify, render_template
from markupsafe import Markup, escape

from app.api.blueprint import bp
from app.api.openapi import document

METHODS = ("get", "post", "put", "patch", "delete")
_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> Markup:
    """A description's `backticked` words as code; everything else escaped."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(escape(text))))


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(document())


@bp.get("/docs")
def docs_page() -> str:
    spec = document()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, item in spec["paths"].items()
        for method in METHODS
        if (operation := item.get(method))
    ]
    return render_template("api.html", spec=spec, operations=operations, inline_code=inline_code)

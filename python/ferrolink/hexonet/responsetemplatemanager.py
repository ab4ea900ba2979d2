"""``ResponseTemplateManager``: the process-wide table of synthesized responses.

Drop-in fidelity: like the original, constructing the manager (or calling ``getInstance()``)
returns the single instance *and resets the table to the eight defaults*, discarding custom
templates added before.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Optional

from . import responseparser
from .responsetemplate import ResponseTemplate

__all__ = ["ResponseTemplateManager"]

_DEFAULTS = {
    "404": ("421", "Page not found"),
    "500": ("500", "Internal server error"),
    "empty": ("423", "Empty API response. Probably unreachable API end point {CONNECTION_URL}"),
    "error": ("421", "Command failed due to server error. Client should try again"),
    "expired": ("530", "SESSION NOT FOUND"),
    "httperror": ("421", "Command failed due to HTTP communication error"),
    "invalid": ("423", "Invalid API response. Contact Support"),
    "unauthorized": ("530", "Unauthorized"),
}


class ResponseTemplateManager:
    _instance: ClassVar[Optional[ResponseTemplateManager]] = None
    _templates: ClassVar[dict[str, str]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __new__(cls) -> ResponseTemplateManager:
        with cls._lock:
            if ResponseTemplateManager._instance is None:
                ResponseTemplateManager._instance = object.__new__(cls)
            instance = ResponseTemplateManager._instance
            ResponseTemplateManager._templates = {
                key: instance.generateTemplate(code, text)
                for key, (code, text) in _DEFAULTS.items()
            }
            return instance

    @staticmethod
    def getInstance() -> ResponseTemplateManager:
        return ResponseTemplateManager()

    def generateTemplate(self, code: str, description: str) -> str:
        return f"[RESPONSE]\r\nCODE={code}\r\nDESCRIPTION={description}\r\nEOF\r\n"

    def addTemplate(self, id: str, plain: str) -> ResponseTemplateManager:
        ResponseTemplateManager._templates[id] = plain
        return self

    def getTemplate(self, id: str) -> ResponseTemplate:
        if self.hasTemplate(id):
            return ResponseTemplate(ResponseTemplateManager._templates[id])
        return ResponseTemplate(self.generateTemplate("500", "Response Template not found"))

    def getTemplates(self) -> dict[str, ResponseTemplate]:
        return {key: ResponseTemplate(text) for key, text in list(self._templates.items())}

    def hasTemplate(self, id: str) -> bool:
        return id in ResponseTemplateManager._templates

    def isTemplateMatchHash(self, tpl2: dict[str, Any], id: str) -> bool:
        h = self.getTemplate(id).getHash()
        return bool(h["CODE"] == tpl2["CODE"] and h["DESCRIPTION"] == tpl2["DESCRIPTION"])

    def isTemplateMatchPlain(self, plain: str, id: str) -> bool:
        return self.isTemplateMatchHash(responseparser.parse(plain), id)

    get_instance = getInstance
    generate_template = generateTemplate
    add_template = addTemplate
    get_template = getTemplate
    get_templates = getTemplates
    has_template = hasTemplate
    is_template_match_hash = isTemplateMatchHash
    is_template_match_plain = isTemplateMatchPlain

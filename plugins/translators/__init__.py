"""Translators `<client API>_<provider API>`, and which one a request uses.

An endpoint names the API its clients speak (plugins.endpoints); a provider names the API it speaks
with its `adapter` in gateway.yaml. The pair picks the translator; a pair no translator serves is a
400 for that model on that endpoint (the provider may still serve it on another).

Adding an OpenAI-compatible provider is configuration only (`adapter: openai_chat`). Adding a client
API or a provider API is one module here, registered below: a class implementing
plugins.translators.base.Translator, or a pure dict-mapping module adapted by ModuleTranslator.
"""
from __future__ import annotations

from plugins.context import Reject
from plugins.translators import anthropic_messages_openai_chat, openai_chat_openai_chat, openai_responses_openai_chat
from plugins.translators.base import ClientStream, Translator, Usage
from plugins.translators.module import ModuleTranslator
from plugins.translators.openai_embeddings_openai_chat import TRANSLATOR as OPENAI_EMBEDDINGS
from schemas.errors import error_body

__all__ = ["ClientStream", "Translator", "Usage", "client_error", "for_provider", "register", "registered"]

_TRANSLATORS: dict[tuple[str, str], Translator] = {}


def register(translator: Translator) -> Translator:
    _TRANSLATORS[(translator.client_api, translator.provider_api)] = translator
    return translator


def registered() -> dict[tuple[str, str], Translator]:
    return dict(_TRANSLATORS)


register(openai_chat_openai_chat.TRANSLATOR)
register(OPENAI_EMBEDDINGS)
register(ModuleTranslator(anthropic_messages_openai_chat, "anthropic_messages", "openai_chat"))
register(ModuleTranslator(openai_responses_openai_chat, "openai_responses", "openai_chat"))


def for_provider(client_api: str, runtime, model) -> Translator:
    """The translator between `client_api` and the API of `model`'s provider (its `adapter`)."""
    adapter = runtime.config.providers[model.provider]["adapter"]
    translator = _TRANSLATORS.get((client_api, adapter))
    if translator is None:
        raise Reject(400, f"The model `{model.name}` cannot be used with this API: its provider speaks {adapter}, "
                          "and the gateway has no translation between the two.", "model_not_supported",
                     param="model", reason="invalid_request")
    return translator


def _openai_error(status: int, message: str, code: str | None, type_: str | None,
                  param: str | None = None) -> tuple[int, dict]:
    return status, error_body(status, message, code, param, type_)


def client_error(client_api: str | None):
    """The error shape of `client_api`: (status, message, code, type_, param) -> (status, body). Every
    translator from one client API answers errors alike; OpenAI's shape when no translator names it."""
    for (client, _provider), translator in _TRANSLATORS.items():
        if client == client_api:
            return translator.error
    return _openai_error

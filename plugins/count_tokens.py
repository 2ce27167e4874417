"""`POST /v1/messages/count_tokens` (Anthropic's): the prompt's input tokens, answered by the gateway itself.

The count is the gateway's own estimate (plugins.usage_estimate), the one its quota reserves with: no
provider is called and nothing is billed. The request is checked like a Messages request (its model must
exist, its messages, system and tools be well-formed), so a client learns of a mistake before it pays.
"""
from plugins import json_body
from plugins.chain import Plugin
from plugins.context import Answer, RequestContext
from plugins.key_limits import check_model
from plugins.model_kind import resolve
from plugins.translators import anthropic_messages_openai_chat as messages


class CountTokensPlugin(Plugin):
    name = "count_tokens"
    priority = 800  # where the router runs on the other endpoints: after auth and the rate limit

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        request = json_body.parse(body)
        if request["model"] in ctx.runtime.config.routers:
            check_model(ctx, request["model"])  # a router: allowed by its name (plugins.key_limits)
        else:
            resolve(ctx, request["model"], "chat")  # 404 if unknown, 403 if not the key's, 400 if not a chat model
        raise Answer(messages.count_tokens(request))

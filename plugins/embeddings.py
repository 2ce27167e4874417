"""The embeddings plugin: POST /v1/embeddings, OpenAI's embeddings API, to the provider's `embeddings_path`.

The request is checked as OpenAI checks it (plugins.embeddings_request), against the model's
`dimensions.max` in gateway.yaml; the model must be an embedding model (plugins.model_kind). Its answer
must fit what Envoy holds whole to price it: a larger batch gets a 400 saying how to split it, before
the provider bills it. The provider's request is the client's with the provider's model name, sent
with the pool key (the BYOK plugin, after this one, swaps in the account's own key). The quota
reserves the input's estimate: an embedding has no completion. Metering prices the answer's
`usage.prompt_tokens` like a chat prompt and renames its `model` to the client's id
(plugins.translators.openai_embeddings_openai_chat).
"""
from plugins import embeddings_request, translators
from plugins.chain import Plugin
from plugins.context import RequestContext
from plugins.model_kind import resolve
from plugins.provider_call import pool_headers, route_to
from schemas.gateway import embedding_dimensions

API = "embeddings"  # the `<api>_path` key of gateway.yaml's providers
UNKNOWN_DIMENSIONS = 3072  # a model whose vector length gateway.yaml leaves to the provider: the longest we know


def answer_limit(config) -> int:
    """The largest answer Envoy buffers: its connection buffer (envoy_config.listeners.buffer_limit)."""
    return max(config.max_request_body_bytes, config.upstream["max_request_body_bytes"])


class EmbeddingsPlugin(Plugin):
    name = "embeddings"
    priority = 800  # where the chat router is: after auth and rate limits, before BYOK and quota

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        request = embeddings_request.parse(body)
        runtime = ctx.runtime
        model = resolve(ctx, request["model"], "embedding")  # 404 if unknown, 400 if of another kind
        default, most = embedding_dimensions(runtime.config.models[model.name])
        embeddings_request.check_dimensions(request, model.name, most)
        embeddings_request.check_answer_size(request, request.get("dimensions") or default or UNKNOWN_DIMENSIONS,
                                             answer_limit(runtime.config))
        translator = translators.for_provider(ctx.endpoint.client_api, runtime, model)
        upstream = runtime.upstreams[model.provider]
        provider_request = translator.request(request, model)
        ctx.translator = translator
        ctx.state.update(model=model, request=provider_request, key_source="pool",
                         reserve_tokens=embeddings_request.prompt_tokens(request))
        route_to(ctx, model.provider, provider_request, pool_headers(upstream, upstream.path(API)))

"""A key's allowed_models, as the sidecar checks them where a request's model is resolved."""
import pytest

from plugins.context import Reject, RequestContext
from plugins.identity_store import KeyRecord
from plugins.key_limits import check_model


def _ctx(allowed) -> RequestContext:
    ctx = RequestContext("POST", "/v1/chat/completions", {})
    ctx.key = KeyRecord("key_1", "acct_1", "default", allowed_models=allowed)
    return ctx


@pytest.mark.parametrize("model", ["deepseek-v4", "deepseek-v4-pro", "clew/free"])
def test_ids_patterns_and_routers_by_name_are_allowed(model):
    check_model(_ctx(("deepseek-*", "clew/free")), model)


@pytest.mark.parametrize("model", ["gpt-5.5", "groq/llama-3.1-8b", "clew/ocr"])
def test_anything_else_is_a_403_naming_the_model_param(model):
    with pytest.raises(Reject) as refused:
        check_model(_ctx(("deepseek-*", "clew/free")), model)
    assert (refused.value.status, refused.value.code, refused.value.param) == (403, "model_not_allowed", "model")
    assert f"`{model}`" in refused.value.message and "deepseek-*" in refused.value.message


def test_sessions_and_keys_without_a_list_may_use_every_model():
    check_model(RequestContext("POST", "/v1/chat/completions", {}), "gpt-5.5")
    check_model(_ctx(None), "gpt-5.5")

"""POST /v1/images/generations through Envoy, with the official OpenAI SDK: dall-e-3 through OpenAI's
images API, minimax-image-01 through MiniMax's, both answered in OpenAI's shape and priced per image."""
import base64
import hashlib
import uuid
from decimal import Decimal

import openai
import pytest

from tests.e2e.chat import HELLO, sdk
from tests.e2e.media import simulator_calls, unit_price
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows


def _prompt() -> str:
    return f"a cute cat {uuid.uuid4().hex[:8]}"  # tells this test's calls apart in the shared simulator


async def test_minimax_image_with_the_sdk_answers_urls_in_openai_shape(client, base):
    account = await new_account(client, base)
    images = await sdk(base, account.token).images.generate(model="minimax-image-01", prompt=_prompt(), n=2)
    assert images.created > 0 and len(images.data) == 2
    assert all(image.url.startswith("https://sim.invalid/minimax/images/") for image in images.data)


async def test_dall_e_3_with_the_sdk_answers_b64_json(client, base):
    account = await new_account(client, base)
    prompt = _prompt()
    images = await sdk(base, account.token).images.generate(model="dall-e-3", prompt=prompt,
                                                            response_format="b64_json", size="1792x1024")
    [image] = images.data
    assert base64.b64decode(image.b64_json).startswith(b"\x89PNG") and image.revised_prompt == prompt


async def test_dall_e_3_answers_urls_by_default(client, base):
    account = await new_account(client, base)
    images = await sdk(base, account.token).images.generate(model="dall-e-3", prompt=_prompt())
    assert images.data[0].url.startswith("https://sim.invalid/openai/images/")


@pytest.mark.parametrize("model, n", [("minimax-image-01", 3), ("dall-e-3", 1)])
async def test_cost_header_and_ledger_row_are_images_times_the_price(client, gateway, db, model, n):
    account = await new_account(client, gateway.url)
    raw = await sdk(gateway.url, account.token).images.with_raw_response.generate(model=model, prompt=_prompt(), n=n)
    expected = n * unit_price(gateway, model)
    assert Decimal(raw.headers["x-cost-usd"]) == expected and len(raw.parse().data) == n
    [row] = await ledger_rows(db, account.id, expect=1)
    assert (row.model, row.cost_nanos, row.status, row.prompt_tokens + row.completion_tokens) == (
        model, int(expected * 1_000_000_000), 200, 0)


async def test_minimax_gets_its_own_request_shape_with_the_pool_key(client, gateway):
    account = await new_account(client, gateway.url)
    prompt = _prompt()
    await sdk(gateway.url, account.token).images.generate(model="minimax-image-01", prompt=prompt, n=2,
                                                          size="1280x720", response_format="b64_json")
    [served] = [e for e in await simulator_calls(client, gateway, "image", provider="minimax") if e["prompt"] == prompt]
    assert (served["path"], served["model"], served["images"]) == ("/minimax/v1/image_generation", "image-01", 2)
    assert served["response_format"] == "base64"
    assert served["key_sha256"] == hashlib.sha256(b"sk-simulated-pool-key").hexdigest()[:12]


async def test_contract_example_works_without_a_json_content_type(client, base):
    account = await new_account(client, base)
    status, body, headers = await call(client, "POST", f"{base}/v1/images/generations", headers=account.bearer,
                                       data=b'{"model":"minimax-image-01","prompt":"a cute cat"}')
    assert status == 200 and len(body["data"]) == 1 and headers["x-cost-usd"] == "0.004"


@pytest.mark.parametrize("model, fields, param", [
    ("dall-e-3", {"n": 2}, "n"),
    ("minimax-image-01", {"n": 10}, "n"),
    ("minimax-image-01", {"size": "512x512"}, "size"),
    ("dall-e-3", {"response_format": "png"}, "response_format"),
    ("dall-e-3", {"prompt": "x" * 4001}, "prompt"),
])
async def test_invalid_parameters_are_400s_naming_them(client, base, model, fields, param):
    account = await new_account(client, base)
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk(base, account.token).images.generate(**{"model": model, "prompt": "a cat", **fields})
    assert raised.value.param == param and raised.value.status_code == 400


async def test_a_missing_prompt_is_a_400(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/images/generations", headers=account.bearer,
                                 json={"model": "dall-e-3"})
    assert status == 400 and body["error"]["param"] == "prompt"


async def test_unknown_model_is_not_found(client, base):
    account = await new_account(client, base)
    with pytest.raises(openai.NotFoundError) as raised:
        await sdk(base, account.token).images.generate(model="dall-e-9", prompt="a cat")
    assert raised.value.code == "model_not_found"


async def test_chat_model_is_refused_with_the_endpoint_to_use(client, base):
    account = await new_account(client, base)
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk(base, account.token).images.generate(model="deepseek-v4", prompt="a cat")
    assert raised.value.param == "model" and "is a chat model; use /v1/chat/completions" in raised.value.message


async def test_image_model_on_chat_completions_is_refused_with_the_endpoint_to_use(client, base):
    account = await new_account(client, base)
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk(base, account.token).chat.completions.create(model="dall-e-3", messages=HELLO)
    assert raised.value.param == "model" and "is an image model; use /v1/images/generations" in raised.value.message


async def test_content_minimax_refuses_is_a_400_and_costs_nothing(client, gateway, db):
    account = await new_account(client, gateway.url)
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/images/generations",
                                 headers={**account.bearer, "x-sim-base-status": "1026"},
                                 json={"model": "minimax-image-01", "prompt": "a cat"})
    assert status == 400 and body["error"]["code"] == "content_policy_violation"
    [row] = await ledger_rows(db, account.id, expect=1)
    assert (row.status, row.cost_nanos) == (400, 0)


async def test_get_is_not_allowed(client, base):
    account = await new_account(client, base)
    status, body, headers = await call(client, "GET", f"{base}/v1/images/generations", headers=account.bearer)
    assert status == 405 and headers["allow"] == "POST"


async def test_requires_credentials(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/images/generations",
                                 json={"model": "dall-e-3", "prompt": "a cat"})
    assert status == 401 and body["error"]["code"] == "missing_api_key"


async def test_models_list_shows_kind_and_price_per_image(client, gateway):
    _, body, _ = await call(client, "GET", f"{gateway.url}/v1/models")
    models = {m["id"]: m for m in body["data"]}
    assert models["minimax-image-01"]["kind"] == "image" and models["deepseek-v4"]["kind"] == "chat"
    assert models["dall-e-3"]["pricing"] == {"currency": "USD", "unit": "image",
                                             "price": str(unit_price(gateway, "dall-e-3"))}
    assert models["dall-e-3"]["sizes"][0] == "1024x1024"
    assert models["minimax-hailuo-2.3"]["pricing"] == {"currency": "USD", "unit": "video",
                                                       "price": str(unit_price(gateway, "minimax-hailuo-2.3"))}

"""One per-account request counter across every AI endpoint: the free tier's 10 requests a minute are 10
whichever APIs spent them, and the 11th is refused on each, in that API's own error shape."""
from tests.e2e.chat import HELLO
from tests.support.api import call, create_key, new_account

MODEL = "deepseek-v4"
REQUESTS = {  # path -> a request's body
    "/v1/chat/completions": {"model": MODEL, "messages": HELLO, "max_tokens": 16},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "Hello!"},
    "/v1/images/generations": {"model": "minimax-image-01", "prompt": "a lighthouse at dawn"},
    "/v1/messages": {"model": MODEL, "messages": HELLO, "max_tokens": 16},
    "/v1/responses": {"model": MODEL, "input": "Hello!", "max_output_tokens": 16},
}
FIRST_TEN = (["/v1/chat/completions"] * 2 + ["/v1/embeddings", "/v1/images/generations"] + ["/v1/messages"] * 3
             + ["/v1/responses"] * 3)


async def test_the_eleventh_free_request_is_refused_whichever_endpoints_the_first_ten_used(client, gateway):
    account = await new_account(client, gateway.url)
    headers = {"x-api-key": (await create_key(client, gateway.url, account))["key"]}
    for path in FIRST_TEN:
        status, body, _ = await call(client, "POST", f"{gateway.url}{path}", json=REQUESTS[path], headers=headers)
        assert status == 200, (path, body)
    for path, request in REQUESTS.items():
        status, body, answered = await call(client, "POST", f"{gateway.url}{path}", json=request, headers=headers)
        assert (status, answered["x-ratelimit-remaining"]) == (429, "0"), (path, body)
        assert int(answered["retry-after"]) >= 1
        if path == "/v1/messages":
            assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        else:
            assert body["error"]["code"] == "rate_limit_exceeded", (path, body)

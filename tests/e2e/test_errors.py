"""Whatever goes wrong, the answer is OpenAI-shaped JSON with a 4xx, never a 500."""
from tests.support.api import call, new_account


def _is_openai_error(body: dict) -> bool:
    return set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}


async def test_unknown_route_is_404_json(client, base):
    status, body, headers = await call(client, "GET", f"{base}/v1/does-not-exist")
    assert status == 404 and _is_openai_error(body) and body["error"]["code"] == "unknown_url"
    assert headers["Content-Type"].startswith("application/json")


async def test_wrong_method_is_405_json(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/auth/signup")
    assert status == 405 and _is_openai_error(body)


async def test_unknown_route_under_a_management_prefix_needs_auth_first(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/keys/x/y")
    assert status == 401 and _is_openai_error(body)


async def test_malformed_bodies_on_every_public_post_are_400(client, base):
    for path in ("/v1/auth/signup", "/v1/auth/login", "/v1/auth/forgot", "/v1/auth/reset"):
        for payload in (b"{", b"[]", b'"text"', b"\xff\xfe", b"null"):
            status, body, _ = await call(client, "POST", f"{base}{path}", data=payload)
            assert status == 400 and _is_openai_error(body), (path, payload, status, body)


async def test_oversized_body_on_a_management_route_is_413(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", data=b"x" * (3 * 1024 * 1024),
                                 headers=account.bearer)
    assert status == 413 and _is_openai_error(body)


async def test_an_escaped_slash_in_the_path_is_a_4xx_not_a_500(client, base):
    status, body, _ = await call(client, "GET", f"{base}/app/x/..%2fy")
    assert 400 <= status < 500 and _is_openai_error(body)

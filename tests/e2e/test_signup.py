"""POST /v1/auth/signup through Envoy."""
import sqlalchemy as sa

from schemas.tables import accounts
from tests.support.api import PASSWORD, call, unique_email


async def test_signup_returns_the_account_without_the_hash(client, base):
    email = unique_email()
    status, body, headers = await call(client, "POST", f"{base}/v1/auth/signup",
                                       json={"email": email, "password": PASSWORD})
    assert status == 201
    assert headers["Content-Type"].startswith("application/json")
    assert body["email"] == email and body["tier"] == "free" and body["id"].startswith("acct_")
    assert "password" not in str(body) and "hash" not in str(body)


async def test_signup_normalises_the_email_case(client, base):
    email = unique_email("Mixed.Case")
    _, body, _ = await call(client, "POST", f"{base}/v1/auth/signup",
                            json={"email": email.upper(), "password": PASSWORD})
    assert body["email"] == email.lower()


async def test_signup_stores_an_argon2id_hash_not_the_password(client, base, db):
    email = unique_email()
    await call(client, "POST", f"{base}/v1/auth/signup", json={"email": email, "password": PASSWORD})
    async with db.connect() as conn:
        stored = (await conn.execute(sa.select(accounts.c.password_hash).where(accounts.c.email == email))).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_duplicate_email_in_any_case_is_409(client, base):
    email = unique_email()
    await call(client, "POST", f"{base}/v1/auth/signup", json={"email": email, "password": PASSWORD})
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup",
                                 json={"email": email.upper(), "password": PASSWORD})
    assert status == 409
    assert body["error"]["code"] == "email_taken" and body["error"]["param"] == "email"


async def test_invalid_email_is_400_naming_the_field(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup",
                                 json={"email": "not-an-email", "password": PASSWORD})
    assert status == 400
    assert body["error"] == {"message": body["error"]["message"], "type": "invalid_request_error",
                             "param": "email", "code": "invalid_email"}


async def test_password_under_8_characters_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup",
                                 json={"email": unique_email(), "password": "1234567"})
    assert status == 400 and body["error"]["code"] == "password_too_short"


async def test_missing_password_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup", json={"email": unique_email()})
    assert status == 400 and body["error"]["param"] == "password" and body["error"]["code"] == "missing_parameter"


async def test_wrong_type_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup",
                                 json={"email": ["a@b.co"], "password": PASSWORD})
    assert status == 400 and body["error"]["code"] == "invalid_type" and body["error"]["param"] == "email"


async def test_malformed_json_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup", data=b'{"email": ',
                                 headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"]["code"] == "invalid_json"


async def test_json_that_is_not_an_object_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup", json=["a", "b"])
    assert status == 400 and body["error"]["code"] == "invalid_json"


async def test_empty_body_is_400(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


async def test_oversized_body_is_413(client, base):
    huge = {"email": unique_email(), "password": "x" * (2 * 1024 * 1024)}
    status, body, _ = await call(client, "POST", f"{base}/v1/auth/signup", json=huge)
    assert status == 413 and body["error"]["code"] == "request_too_large"


async def test_signup_works_over_https(client, gateway):
    status, body, _ = await call(client, "POST", f"{gateway.https_url}/v1/auth/signup",
                                 json={"email": unique_email(), "password": PASSWORD}, ssl=gateway.ssl_context())
    assert status == 201, body

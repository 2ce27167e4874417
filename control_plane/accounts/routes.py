"""POST /v1/auth/signup, /login, /forgot, /reset and GET /v1/auth/me."""
from aiohttp import web

from control_plane import clock
from control_plane.accounts import passwords, store
from control_plane.accounts.emails import normalise_email
from control_plane.accounts.limits import admit_address, may_send_reset_mail
from control_plane.accounts.mailer import send_in_background
from control_plane.accounts.sessions import issue_session_token
from control_plane.accounts.throttle import Limits
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.metrics import AUTH_FAILURES
from control_plane.requests import read_json, string_field
from control_plane.services import services
from control_plane.usage.summary import month_to_date

routes = web.RouteTableDef()
BAD_LOGIN = "Incorrect email or password"


def _password(body: dict) -> str:
    password = string_field(body, "password", max_length=passwords.MAX_LENGTH)
    if len(password) < passwords.MIN_LENGTH:
        raise ApiError(400, f"Password must be at least {passwords.MIN_LENGTH} characters",
                       "password_too_short", "password")
    return password


def account_view(row) -> dict:
    return {"id": row["id"], "object": "account", "email": row["email"], "tier": row["tier"],
            "created_at": clock.iso(row["created_at"])}


@routes.post("/v1/auth/signup")
async def signup(request: web.Request) -> web.Response:
    await admit_address(request, "signup")
    body = await read_json(request)
    email = normalise_email(string_field(body, "email", max_length=320))
    password_hash = await passwords.hash_password(_password(body))
    try:
        async with services(request).engine.begin() as conn:
            row = await store.create_account(conn, email, password_hash)
    except store.DuplicateEmail:
        raise ApiError(409, "An account with this email already exists", "email_taken", "email") from None
    return web.json_response(account_view(row), status=201)


@routes.post("/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    address = await admit_address(request, "login")
    body = await read_json(request)
    email = normalise_email(string_field(body, "email", max_length=320))
    password = string_field(body, "password", max_length=passwords.MAX_LENGTH)
    svc = services(request)
    # Counted before the slow hash, so concurrent guesses cannot all be checked (see throttle.py).
    verdict = await svc.throttle.attempt(email, address, Limits.of(svc.config.login_throttle))
    if not verdict.allowed:
        AUTH_FAILURES.labels("login_throttled").inc()
        raise ApiError(429, "Too many failed logins for this account; try again later",
                       "login_throttled", headers={"Retry-After": str(verdict.retry_after)})
    async with svc.engine.connect() as conn:
        row = await store.find_by_email(conn, email)
    if not await passwords.verify_password(row.password_hash if row else None, password):
        AUTH_FAILURES.labels("bad_password").inc()
        raise ApiError(401, BAD_LOGIN, "invalid_credentials")
    await svc.throttle.succeeded(email, address)
    token, expires = issue_session_token(svc.settings.jwt_secret, row.id, row.session_epoch,
                                         svc.config.auth["session_ttl_seconds"])
    return web.json_response({"token": token, "token_type": "bearer", "expires_at": expires,
                              "expires_in": svc.config.auth["session_ttl_seconds"]})


@routes.get("/v1/auth/me")
async def me(request: web.Request) -> web.Response:
    identity = require_identity(request)
    async with services(request).engine.connect() as conn:
        row = await store.find_by_id(conn, identity.account_id)
        if row is None:
            raise ApiError(401, "This account no longer exists", "account_not_found")
        usage = await month_to_date(conn, row.id)
    return web.json_response({**account_view(row._mapping), "usage": usage})


@routes.post("/v1/auth/forgot")
async def forgot(request: web.Request) -> web.Response:
    await admit_address(request, "password_reset")
    body = await read_json(request)
    email = normalise_email(string_field(body, "email", max_length=320))
    svc = services(request)
    ttl = svc.config.auth["password_reset_ttl_seconds"]
    row = None
    # Past the hourly cap nothing is created either: the link already sent stays valid.
    if await may_send_reset_mail(request, email):
        async with svc.engine.begin() as conn:
            row = await store.find_by_email(conn, email)
            if row is not None:
                token = await store.create_reset_token(conn, row.id, ttl)
    else:
        AUTH_FAILURES.labels("reset_mails_capped").inc()
    if row is not None:
        link = f"{svc.settings.public_url}/app/reset?token={token}"
        send_in_background(svc.mailer, row.email, "Reset your Clew password",
                           "Someone asked to reset the password of your Clew account.\n\n"
                           f"Open this link within {ttl // 60} minutes to choose a new one:\n{link}\n\n"
                           "If it was not you, ignore this email.")
    # The same answer whether or not the account exists.
    return web.json_response({"message": "If an account exists for this email, a reset link is on its way."},
                             status=202)


@routes.post("/v1/auth/reset")
async def reset(request: web.Request) -> web.Response:
    await admit_address(request, "password_reset")
    body = await read_json(request)
    token = string_field(body, "token", max_length=200)
    password_hash = await passwords.hash_password(_password(body))
    async with services(request).engine.begin() as conn:
        account_id = await store.consume_reset_token(conn, token)
        if account_id is None:
            raise ApiError(400, "This reset token is invalid, expired or already used",
                           "invalid_reset_token", "token")
        await store.set_password(conn, account_id, password_hash)
    return web.json_response({"message": "Password updated; sign in again."})

"""The stand-in's Stripe objects, in memory, shaped like Stripe's own (the fields we read, and a few more)."""
import secrets
import time


class StripeApiError(Exception):
    """Answered as Stripe answers errors: {"error": {"type", "message", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        return {"error": {"type": "invalid_request_error", "message": self.message, "param": self.param,
                          "code": self.code}}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _required(params: dict, name: str):
    if not params.get(name):
        raise StripeApiError(400, f"Missing required param: {name}.", name, "parameter_missing")
    return params[name]


class Objects:
    def __init__(self):
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self._orders: dict[str, dict] = {}  # what each session sells: line items, subscription_data

    def _get(self, kind: dict, ident: str, name: str) -> dict:
        if ident not in kind:
            raise StripeApiError(404, f"No such {name}: '{ident}'", "id", "resource_missing")
        return kind[ident]

    def create_customer(self, params: dict) -> dict:
        customer = {"id": new_id("cus"), "object": "customer", "email": params.get("email"),
                    "metadata": params.get("metadata") or {}, "created": int(time.time()), "livemode": False}
        self.customers[customer["id"]] = customer
        return customer

    def create_session(self, params: dict, base_url: str) -> dict:
        if _required(params, "mode") != "subscription":
            raise StripeApiError(400, "This stand-in only does mode=subscription.", "mode", "parameter_invalid")
        items = _required(params, "line_items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("price") for i in items):
            raise StripeApiError(400, "Each line item needs a price.", "line_items", "parameter_missing")
        if params.get("customer"):
            self._get(self.customers, params["customer"], "customer")
        session_id = new_id("cs_test")
        session = {"id": session_id, "object": "checkout.session", "mode": "subscription",
                   "customer": params.get("customer"), "client_reference_id": params.get("client_reference_id"),
                   "metadata": params.get("metadata") or {}, "status": "open", "payment_status": "unpaid",
                   "subscription": None, "success_url": _required(params, "success_url"),
                   "cancel_url": params.get("cancel_url"), "url": f"{base_url}/checkout/{session_id}",
                   "created": int(time.time()), "expires_at": int(time.time()) + 86400, "livemode": False}
        self.sessions[session_id] = session
        self._orders[session_id] = {"items": items, "subscription_data": params.get("subscription_data") or {}}
        return session

    def session(self, session_id: str) -> dict:
        return self._get(self.sessions, session_id, "checkout.session")

    def subscription(self, subscription_id: str) -> dict:
        return self._get(self.subscriptions, subscription_id, "subscription")

    def complete_session(self, session_id: str) -> dict:
        """The customer paid: a subscription exists, and the session is complete."""
        session = self.session(session_id)
        if session["status"] != "open":
            raise StripeApiError(400, f"Checkout session {session_id} is {session['status']}.", None, "session_closed")
        subscription = self._new_subscription(session["customer"], self._orders[session_id])
        session.update(status="complete", payment_status="paid", subscription=subscription["id"], url=None)
        return session

    def _new_subscription(self, customer: str | None, order: dict) -> dict:
        now = int(time.time())
        subscription = {
            "id": new_id("sub"), "object": "subscription", "customer": customer, "status": "active",
            "metadata": order["subscription_data"].get("metadata") or {}, "created": now,
            "cancel_at_period_end": False, "canceled_at": None, "ended_at": None, "livemode": False,
            "items": {"object": "list", "data": [
                {"id": new_id("si"), "object": "subscription_item", "quantity": int(item.get("quantity") or 1),
                 "price": {"id": item["price"], "object": "price"}, "current_period_start": now,
                 "current_period_end": now + 30 * 86400} for item in order["items"]]}}
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def cancel_subscription(self, subscription_id: str) -> dict:
        subscription = self.subscription(subscription_id)
        if subscription["status"] == "canceled":
            raise StripeApiError(400, f"Subscription {subscription_id} is already canceled.", None, "resource_missing")
        now = int(time.time())
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        return subscription

    def failed_invoice(self, subscription_id: str, amount_due: int) -> dict:
        subscription = self.subscription(subscription_id)
        subscription["status"] = "past_due"
        return {"id": new_id("in"), "object": "invoice", "customer": subscription["customer"],
                "subscription": subscription_id, "status": "open", "amount_due": amount_due, "amount_paid": 0,
                "currency": "usd", "attempt_count": 1, "billing_reason": "subscription_cycle",
                "created": int(time.time()), "livemode": False}

    def event(self, event_type: str, obj: dict) -> dict:
        event = {"id": new_id("evt"), "object": "event", "api_version": "2025-01-27.acacia",
                 "created": int(time.time()), "type": event_type, "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "data": {"object": dict(obj)}}
        self.events[event["id"]] = {"event": event, "deliveries": []}
        return event

"""The stand-in's Stripe objects, in memory, shaped like Stripe's own (the fields we read, and a few more).

Money moves as Stripe moves it: a subscription's first invoice is paid when it starts, at its
price's amount; an invoice made through the API is charged when it is finalized with automatic
collection. Each payment is kept in `charges` (with the service period its invoice's lines cover),
which is what the stand-in has charged.
"""
import secrets
import time


class StripeApiError(Exception):
    """Answered as Stripe answers errors: {"error": {"type", "message", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return {"error": {"type": self.kind, "message": self.message, "param": self.param, "code": self.code}}

    def reply(self) -> tuple[int, dict]:
        return self.status, self.body()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _required(params: dict, name: str):
    if not params.get(name):
        raise StripeApiError(400, f"Missing required param: {name}.", name, "parameter_missing")
    return params[name]


def _integer(params: dict, name: str) -> int:
    value = _required(params, name)
    if not (isinstance(value, str) and value.isdigit() and len(value) < 16):
        raise StripeApiError(400, f"Invalid integer: {value}", name, "parameter_invalid_integer")
    return int(value)


def _period(params: dict) -> dict | None:
    period = params.get("period")
    return {"start": _integer(period, "start"), "end": _integer(period, "end")} if isinstance(period, dict) else None


class Objects:
    def __init__(self, prices: dict[str, int]):
        self.prices = prices  # price id -> unit amount in cents, as the operator set them up at Stripe
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.invoice_items: dict[str, dict] = {}
        self.charges: list[dict] = []
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
        for item in items:
            if item["price"] not in self.prices:
                raise StripeApiError(400, f"No such price: '{item['price']}'", "line_items", "resource_missing")
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
                 "price": {"id": item["price"], "object": "price", "unit_amount": self.prices[item["price"]]},
                 "current_period_start": now, "current_period_end": now + 30 * 86400} for item in order["items"]]}}
        self.subscriptions[subscription["id"]] = subscription
        subscription["latest_invoice"] = self._first_invoice(subscription)["id"]
        return subscription

    def _first_invoice(self, subscription: dict) -> dict:
        """A subscription's first period is invoiced and paid as it starts."""
        invoice = self._invoice(subscription["customer"], "subscription_create", subscription=subscription["id"])
        for item in subscription["items"]["data"]:
            self._add_line(invoice, item["price"]["unit_amount"] * item["quantity"], f"1 × {item['price']['id']}",
                           {"start": item["current_period_start"], "end": item["current_period_end"]})
        return self._pay(invoice)

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

    # --- invoices, invoice items and the charges that pay them ---------------------------------

    def _invoice(self, customer: str | None, reason: str, **fields) -> dict:
        invoice = {"id": new_id("in"), "object": "invoice", "customer": customer, "status": "draft",
                   "billing_reason": reason, "collection_method": "charge_automatically", "auto_advance": False,
                   "currency": "usd", "description": None, "metadata": {}, "subscription": None,
                   "lines": {"object": "list", "data": []}, "subtotal": 0, "total": 0, "amount_due": 0,
                   "amount_paid": 0, "amount_remaining": 0, "attempt_count": 0, "created": int(time.time()),
                   "status_transitions": {"finalized_at": None, "paid_at": None}, "livemode": False, **fields}
        self.invoices[invoice["id"]] = invoice
        return invoice

    @staticmethod
    def _add_line(invoice: dict, amount: int, description: str | None, period: dict | None, **fields) -> None:
        invoice["lines"]["data"].append({"id": new_id("il"), "object": "line_item", "amount": amount,
                                         "currency": invoice["currency"], "description": description,
                                         "period": period, **fields})
        for total in ("subtotal", "total", "amount_due", "amount_remaining"):
            invoice[total] += amount

    def _pay(self, invoice: dict) -> dict:
        """Finalizes the invoice and, when something is due, charges the customer for it."""
        now = int(time.time())
        if invoice["amount_due"] > 0:
            self.charges.append(self._charge(invoice, now))
            invoice["attempt_count"] += 1
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["status_transitions"].update(finalized_at=now, paid_at=now)
        return invoice

    @staticmethod
    def _charge(invoice: dict, now: int) -> dict:
        periods = [line["period"] for line in invoice["lines"]["data"] if line["period"]]
        return {"id": new_id("ch"), "object": "charge", "amount": invoice["amount_due"],
                "currency": invoice["currency"], "customer": invoice["customer"], "invoice": invoice["id"],
                "paid": True, "status": "succeeded", "description": invoice["description"],
                "metadata": invoice["metadata"], "created": now,
                # The stand-in's own field: the service period the invoice's lines cover.
                "period": {"start": min(p["start"] for p in periods), "end": max(p["end"] for p in periods)}
                if periods else None}

    def create_invoice(self, params: dict) -> dict:
        customer = self._get(self.customers, _required(params, "customer"), "customer")["id"]
        if params.get("collection_method", "charge_automatically") != "charge_automatically":
            raise StripeApiError(400, "This stand-in only does charge_automatically.", "collection_method",
                                 "parameter_invalid")
        return self._invoice(customer, "manual", currency=params.get("currency", "usd"),
                             auto_advance=params.get("auto_advance") == "true",
                             description=params.get("description"), metadata=params.get("metadata") or {})

    def invoice(self, invoice_id: str) -> dict:
        return self._get(self.invoices, invoice_id, "invoice")

    def list_invoices(self, customer: str | None) -> dict:
        data = [i for i in reversed(self.invoices.values()) if customer is None or i["customer"] == customer]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/invoices"}

    def create_invoice_item(self, params: dict) -> dict:
        customer = self._get(self.customers, _required(params, "customer"), "customer")["id"]
        amount, currency = _integer(params, "amount"), _required(params, "currency")
        invoice = self.invoice(params["invoice"]) if params.get("invoice") else None
        if invoice and (invoice["customer"] != customer or invoice["status"] != "draft"):
            raise StripeApiError(400, f"Invoice {invoice['id']} is not a draft of this customer.", "invoice",
                                 "invoice_not_editable")
        item = {"id": new_id("ii"), "object": "invoiceitem", "customer": customer, "amount": amount,
                "currency": currency, "description": params.get("description"),
                "metadata": params.get("metadata") or {}, "period": _period(params),
                "invoice": invoice["id"] if invoice else None, "quantity": 1, "date": int(time.time()),
                "livemode": False}
        self.invoice_items[item["id"]] = item
        if invoice:
            self._add_line(invoice, amount, item["description"], item["period"], invoice_item=item["id"])
        return item

    def finalize_invoice(self, invoice_id: str, params: dict) -> dict:
        invoice = self.invoice(invoice_id)
        if invoice["status"] != "draft":
            raise StripeApiError(400, "This invoice is already finalized, you can't re-finalize a non-draft "
                                 "invoice.", None, "invoice_not_editable")
        if "auto_advance" in params:
            invoice["auto_advance"] = params["auto_advance"] == "true"
        if invoice["auto_advance"] or invoice["amount_due"] == 0:  # automatic collection: charged at once here
            return self._pay(invoice)
        invoice["status"] = "open"
        invoice["status_transitions"]["finalized_at"] = int(time.time())
        return invoice

    def event(self, event_type: str, obj: dict) -> dict:
        event = {"id": new_id("evt"), "object": "event", "api_version": "2025-01-27.acacia",
                 "created": int(time.time()), "type": event_type, "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "data": {"object": dict(obj)}}
        self.events[event["id"]] = {"event": event, "deliveries": []}
        return event

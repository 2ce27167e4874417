"""A local stand-in for the part of Stripe's HTTP API that Clew calls, for `make run` and the tests.

The real `stripe` SDK talks to it through its `api_base`; nothing of ours is patched. It keeps
customers, Checkout sessions, subscriptions, invoices and the charges that paid them in memory,
and sends webhook events signed exactly as Stripe signs them
(control_plane.billing.stripe_standin.signing) to the gateway's /v1/billing/webhook. Run it with
`python -m control_plane.billing.stripe_standin`.

Stripe's API (Bearer STRIPE_SECRET_KEY; Idempotency-Key honoured as Stripe does: the same key and
request get the first answer again, another request with that key a 400, a concurrent one a 409):
  POST   /v1/customers                 POST /v1/checkout/sessions     GET /v1/checkout/sessions/{id}
  GET    /v1/subscriptions/{id}        DELETE /v1/subscriptions/{id}  (sends customer.subscription.deleted)
  POST   /v1/invoices                  GET /v1/invoices?customer=     GET /v1/invoices/{id}
  POST   /v1/invoiceitems              POST /v1/invoices/{id}/finalize (auto_advance: charged at once)
A subscription pays its first period when it starts, at its price's amount (gateway.yaml's prices).
What Stripe's hosted pages and dashboard would do, for people and tests (no key needed):
  GET  /checkout/{id}                               a page with a "Pay" button
  POST /checkout/{id}/complete                      pays: subscription + checkout.session.completed
  POST /_standin/subscriptions/{id}/cancel          customer.subscription.deleted
  POST /_standin/subscriptions/{id}/payment_failed  invoice.payment_failed
  POST /_standin/events/{id}/resend                 the same event again (as Stripe's retries do)
  GET  /_standin/events, GET /_standin/health
  GET  /_standin/charges?customer=                  every charge made, with the period it paid for
  POST /_standin/faults {"path", "method", "times"} lose the next answers to matching API calls
                                                    (after they took effect), for retry tests
The /checkout and /_standin calls deliver their event before answering, and answer with it and
the gateway's reply: {"event": {...}, "delivery": {"status": 200, "body": "..."}}.
"""

"""Billing: tiers bought as Stripe subscriptions through Checkout, Stripe's webhooks, and monthly
invoices derived from the usage ledger."""

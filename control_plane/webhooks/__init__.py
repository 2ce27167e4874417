"""Webhooks: accounts' endpoints, the events they subscribe to, and signed, retried deliveries."""

"""Usage reports built from the ledger."""

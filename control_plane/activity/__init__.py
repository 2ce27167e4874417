"""The activity log: the account's requests, from the ledger, a page at a time."""

"""Accounts: signup, login, profile, password reset."""

"""Where the auth plugin finds the caller's credential."""
from plugins.auth import credential


def test_x_api_key_header():
    assert credential({"x-api-key": "sk-clew-abc"}) == "sk-clew-abc"


def test_bearer_token_any_case_scheme():
    assert credential({"authorization": "bearer tok"}) == "tok"


def test_x_api_key_wins_over_bearer():
    assert credential({"x-api-key": "sk-clew-abc", "authorization": "Bearer tok"}) == "sk-clew-abc"


def test_other_schemes_are_not_credentials():
    assert credential({"authorization": "Basic dXNlcjpwYXNz"}) is None


def test_empty_bearer_is_no_credential():
    assert credential({"authorization": "Bearer   "}) is None

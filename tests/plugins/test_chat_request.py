"""Chat request validation: found by the OpenAPI fuzz run (tests/e2e/test_openapi_fuzz.py)."""
import json

import pytest

from plugins import chat_request
from plugins.context import Reject


@pytest.mark.parametrize("role", [{}, [], ["user"], 1, None])
def test_a_role_that_is_not_a_string_is_a_400_naming_it(role):
    body = json.dumps({"model": "m", "messages": [{"role": role, "content": "hi"}]}).encode()
    with pytest.raises(Reject) as raised:
        chat_request.parse(body)
    assert (raised.value.status, raised.value.param) == (400, "messages[0].role")

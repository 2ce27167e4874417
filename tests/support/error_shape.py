"""What every error the gateway returns must look like, and what no body may contain."""
import re

# Traces of internals: a traceback, source paths, gRPC, database drivers, Envoy's failure details.
_INTERNALS = re.compile(r"Traceback|File \"|\.py\b|/work/|site-packages|grpc|sqlalchemy|asyncpg|aiosqlite|errno"
                        r"|ext_proc_error|ext_authz_error|codec_error|upstream_reset", re.IGNORECASE)
# An exception's class name (RecursionError, KeyError, OSError); OpenAI's `invalid_request_error` is not one.
_CLASS_NAME = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b")


def leaks(text: str) -> list[str]:
    """The traces of internals found in a response body."""
    return [m.group(0) for pattern in (_INTERNALS, _CLASS_NAME) for m in pattern.finditer(text)]


def is_openai_error(body) -> bool:
    return (isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], dict)
            and set(body["error"]) == {"message", "type", "param", "code"}
            and isinstance(body["error"]["message"], str) and isinstance(body["error"]["type"], str))

"""The Anthropic Messages API (the client's) onto OpenAI chat completions (the provider's).

Requests are checked the way Anthropic checks them (its `field: problem` messages) and rewritten as
chat requests; chat completions, chunk streams and OpenAI-shaped errors come back in Anthropic's shapes.
Anthropic's `input_tokens` excludes the prompt tokens read from cache (`cache_read_input_tokens`);
OpenAI's `prompt_tokens` includes them, so the client sees prompt minus cached.
Left out, because an OpenAI chat provider has no equivalent: server tools (web search, code execution),
documents, thinking (thinking blocks sent back are dropped), citations, `top_k`.
"""
import json
import uuid

from plugins.json_body import invalid
from plugins.translators.openai_chat_usage import cost_comment, id_suffix, normalized, sse_frame
from plugins.usage_estimate import prompt_tokens

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
TEXT = object()  # the key of an open text block (tool-call blocks are keyed by the chunk's call index)
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
# The error type Anthropic sends with each status (https://docs.claude.com/en/api/errors); the status is kept,
# so the SDK raises the class it maps it to (BadRequestError, AuthenticationError, NotFoundError...).
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 503: "overloaded_error", 504: "timeout_error", 529: "overloaded_error"}


# ---- requests -------------------------------------------------------------------------------------

def to_provider_request(body: dict, model: str) -> dict:
    """The chat request for provider model `model`, or a Reject naming what Anthropic would refuse."""
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise invalid("max_tokens: Field required", "max_tokens", "missing_required_parameter")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise invalid("max_tokens: Input should be a valid integer", "max_tokens", "invalid_type")
    if max_tokens < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1", "max_tokens")
    chat = {"model": model, **_prompt(body), "max_tokens": max_tokens}
    chat.update(_sampling(body))
    if _flag(body, "stream"):
        chat["stream"], chat["stream_options"] = True, {"include_usage": True}
    return chat


def count_tokens(body: dict) -> dict:
    """`POST /v1/messages/count_tokens`: the prompt as the gateway's quota estimates it."""
    return {"input_tokens": prompt_tokens(_prompt(body))}


def _prompt(body: dict) -> dict:
    """What the provider reads as the prompt: messages, tools and tool choice."""
    prompt = {"messages": _system(body.get("system")) + _messages(body.get("messages"))}
    tools = _tools(body.get("tools"))
    if tools:
        prompt["tools"] = tools
        prompt.update(_tool_choice(body.get("tool_choice")))
    elif body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"])  # checked even when there is nothing to choose from
    return prompt


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"{name}: Input should be a valid boolean", name, "invalid_type")
    return bool(value)


def _number(body: dict, name: str, high: float):
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise invalid(f"{name}: Input should be a valid number", name, "invalid_type")
    if value < 0:
        raise invalid(f"{name}: Input should be greater than or equal to 0", name)
    if value > high:
        raise invalid(f"{name}: Input should be less than or equal to {high}", name)
    return value


def _sampling(body: dict) -> dict:
    options = {name: value for name in ("temperature", "top_p") if (value := _number(body, name, 1)) is not None}
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
            raise invalid("stop_sequences: Input should be a valid list of strings", "stop_sequences", "invalid_type")
        if stops:
            options["stop"] = stops
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user, str) and user:
        options["user"] = user
    return options


def _system(system) -> list[dict]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or a list of text blocks", "system", "invalid_type")
    texts = [_text_of(block, f"system.{i}") for i, block in enumerate(system)]
    return [{"role": "system", "content": "\n".join(texts)}] if texts else []


def _text_of(block, where: str) -> str:
    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise invalid(f"{where}: Input should be a text block with a string 'text'", where, "invalid_type")
    return block["text"]


def _messages(messages) -> list[dict]:
    if messages is None:
        raise invalid("messages: Field required", "messages", "missing_required_parameter")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list", "messages", "invalid_type")
    if not messages:
        raise invalid("messages: at least one message is required", "messages")
    chat = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(f"messages.{i}: Input should be a valid dictionary", f"messages.{i}", "invalid_type")
        role, content = message.get("role"), message.get("content")
        if role == "system":
            raise invalid('messages: Unexpected role "system". The Messages API accepts a top-level `system` '
                          'parameter, not "system" as an input message role.', f"messages.{i}.role")
        if role not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'", f"messages.{i}.role")
        if not isinstance(content, (str, list)):
            raise invalid(f"messages.{i}.content: Input should be a valid string or a list of content blocks",
                          f"messages.{i}.content", "invalid_type")
        where = f"messages.{i}.content"
        chat += _user_turn(content, where) if role == "user" else [_assistant_turn(content, where)]
    return chat


def _user_turn(content, where: str) -> list[dict]:
    """A user turn: its tool results as `tool` messages first (they must follow the assistant's calls),
    then its text and images as one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    results, parts = [], []
    for j, block in enumerate(content):
        kind = _block_type(block, f"{where}.{j}")
        if kind == "tool_result":
            result, images = _tool_result(block, f"{where}.{j}")
            results.append(result)
            parts += images
        elif kind in ("text", "image"):
            parts.append(_part(block, f"{where}.{j}"))
        else:
            raise _unsupported(kind, f"{where}.{j}")
    return results + ([{"role": "user", "content": _content(parts)}] if parts or not results else [])


def _assistant_turn(content, where: str) -> dict:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts, calls = [], []
    for j, block in enumerate(content):
        kind = _block_type(block, f"{where}.{j}")
        if kind == "text":
            texts.append(_text_of(block, f"{where}.{j}"))
        elif kind == "tool_use":
            calls.append(_tool_call(block, f"{where}.{j}"))
        elif kind not in ("thinking", "redacted_thinking"):  # Claude's own reasoning, sent back: not for this model
            raise _unsupported(kind, f"{where}.{j}")
    message = {"role": "assistant", "content": "\n".join(texts) if texts or not calls else None}
    return {**message, "tool_calls": calls} if calls else message


def _block_type(block, where: str) -> str:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise invalid(f"{where}: Input should be a content block with a 'type'", where, "invalid_type")
    return block["type"]


def _unsupported(kind: str, where: str):
    return invalid(f"{where}: content blocks of type '{kind}' are not supported by this gateway's providers",
                   where, "unsupported_value")


def _content(parts: list[dict]):
    """Text alone as one string (every provider takes it), else the list of parts."""
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _part(block: dict, where: str) -> dict:
    if block["type"] == "text":
        return {"type": "text", "text": _text_of(block, where)}
    return {"type": "image_url", "image_url": {"url": _image_url(block.get("source"), f"{where}.source")}}


def _image_url(source, where: str) -> str:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "url" and isinstance(source.get("url"), str) and source["url"]:
        return source["url"]
    if kind != "base64":
        raise invalid(f"{where}: Input should be an image source of type 'base64' or 'url'", where)
    if source.get("media_type") not in IMAGE_TYPES:
        raise invalid(f"{where}.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
                      f"{where}.media_type")
    if not isinstance(source.get("data"), str) or not source["data"]:
        raise invalid(f"{where}.data: Field required", f"{where}.data", "missing_required_parameter")
    return f"data:{source['media_type']};base64,{source['data']}"


def _tool_result(block: dict, where: str) -> tuple[dict, list[dict]]:
    """The `tool` message, and the images of the result (a tool message carries text only)."""
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise invalid(f"{where}.tool_use_id: Field required", f"{where}.tool_use_id", "missing_required_parameter")
    content = block.get("content", "")
    if isinstance(content, str):
        return {"role": "tool", "tool_call_id": call_id, "content": content}, []
    if not isinstance(content, list):
        raise invalid(f"{where}.content: Input should be a valid string or a list of content blocks",
                      f"{where}.content", "invalid_type")
    parts = []
    for k, item in enumerate(content):
        kind = _block_type(item, f"{where}.content.{k}")
        if kind not in ("text", "image"):
            raise _unsupported(kind, f"{where}.content.{k}")
        parts.append(_part(item, f"{where}.content.{k}"))
    text = "\n".join(part["text"] for part in parts if part["type"] == "text")
    return {"role": "tool", "tool_call_id": call_id, "content": text}, [p for p in parts if p["type"] != "text"]


def _tool_call(block: dict, where: str) -> dict:
    for name in ("id", "name"):
        if not isinstance(block.get(name), str) or not block[name]:
            raise invalid(f"{where}.{name}: Field required", f"{where}.{name}", "missing_required_parameter")
    if not isinstance(block.get("input"), dict):
        raise invalid(f"{where}.input: Input should be a valid dictionary", f"{where}.input", "invalid_type")
    arguments = json.dumps(block["input"], ensure_ascii=False, separators=(",", ":"))
    return {"id": block["id"], "type": "function", "function": {"name": block["name"], "arguments": arguments}}


def _tools(tools) -> list[dict]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list", "tools", "invalid_type")
    return [_tool(tool, f"tools.{i}") for i, tool in enumerate(tools)]


def _tool(tool, where: str) -> dict:
    if not isinstance(tool, dict):
        raise invalid(f"{where}: Input should be a valid dictionary", where, "invalid_type")
    if tool.get("type") not in (None, "custom"):
        raise invalid(f"{where}: tools of type '{tool['type']}' are not supported by this gateway's providers; "
                      "only client tools with an input_schema are", f"{where}.type", "unsupported_value")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise invalid(f"{where}.name: Field required", f"{where}.name", "missing_required_parameter")
    if not isinstance(tool.get("input_schema"), dict):
        raise invalid(f"{where}.input_schema: Field required", f"{where}.input_schema", "missing_required_parameter")
    function = {"name": tool["name"], "parameters": tool["input_schema"]}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice) -> dict:
    if choice is None:
        return {}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "tool":
        if not isinstance(choice.get("name"), str) or not choice["name"]:
            raise invalid("tool_choice.name: Field required", "tool_choice.name", "missing_required_parameter")
        options = {"tool_choice": {"type": "function", "function": {"name": choice["name"]}}}
    elif kind in TOOL_CHOICES:
        options = {"tool_choice": TOOL_CHOICES[kind]}
    else:
        raise invalid("tool_choice: Input should be an object of type 'auto', 'any', 'tool' or 'none'",
                      "tool_choice")
    if choice.get("disable_parallel_tool_use") is True and kind != "none":
        options["parallel_tool_calls"] = False
    return options


# ---- responses ------------------------------------------------------------------------------------

def to_client_response(chat: dict, model: str) -> dict:
    """A chat.completion as an Anthropic `message`; `model` is the id the client asked for."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content = [{"type": "text", "text": message["content"]}] if isinstance(message.get("content"), str) \
        and message["content"] else []
    calls = [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]
    content += [_tool_use(call) for call in calls]
    stop_reason, stop_sequence = _stop(choice, bool(calls))
    return {"id": message_id(chat.get("id")), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": stop_sequence,
            "usage": client_usage(chat.get("usage"))}


def message_id(seed: str | None) -> str:
    return "msg_" + id_suffix(seed, uuid.uuid4().hex)


def _tool_use(call: dict) -> dict:
    function = call.get("function") or {}
    return {"type": "tool_use", "id": call.get("id") or "toolu_" + uuid.uuid4().hex, "name": function.get("name", ""),
            "input": _arguments(function.get("arguments"))}


def _arguments(arguments) -> dict:
    # A tool's input is an object in Anthropic's API; a model's malformed arguments cannot become one.
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _stop(choice: dict, called_tools: bool) -> tuple[str, str | None]:
    finish = choice.get("finish_reason")
    if called_tools and finish != "length":
        return "tool_use", None
    # vLLM-style providers name the stop string that ended the text; OpenAI's say only "stop".
    matched = choice.get("stop_reason")
    if finish == "stop" and isinstance(matched, str) and matched:
        return "stop_sequence", matched
    return STOP_REASONS.get(finish, "end_turn"), None


def client_usage(usage: dict | None) -> dict:
    counts = normalized(usage) or {"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0}
    cached = counts["cached_input_tokens"]
    return {"input_tokens": counts["input_tokens"] - cached, "output_tokens": counts["output_tokens"],
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}


# ---- streams --------------------------------------------------------------------------------------

class StreamTranslator:
    """OpenAI chat.completion.chunk objects in, Anthropic's stream events out (as SSE frames).

    message_start opens the stream (usage 0: providers send theirs at the end), each text run and each
    tool call is one content block (start, deltas, stop), and message_delta carries the stop reason and the
    usage, cumulative as Anthropic's are, before message_stop.
    """

    def __init__(self, model: str, request_id: str):
        self.model = model
        self.id = message_id(request_id)
        self._started = self._ended = False
        self._blocks = 0              # content blocks started so far
        self._open = None             # TEXT, or the key of the tool call whose block is open
        self._tools: dict = {}        # tool-call key (the chunk's index) -> content block index
        self._finish: str | None = None
        self._matched: str | None = None
        self._usage: dict | None = None

    def feed(self, chunk: dict) -> list[bytes]:
        if self._ended or not isinstance(chunk, dict):
            return []
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]  # cumulative: the latest wins
        frames = self._start()
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                frames += self._choice(choice)
        return frames

    def finish(self, usage: dict | None = None, cost_usd: str | None = None) -> list[bytes]:
        """The closing events; `usage` (OpenAI-shaped) overrides what the chunks reported."""
        if self._ended:
            return []
        if usage is not None:
            self._usage = usage
        frames = self._start() + self._close()
        self._ended = True
        stop_reason, stop_sequence = _stop({"finish_reason": self._finish, "stop_reason": self._matched},
                                           bool(self._tools))
        delta_usage = client_usage(self._usage)
        if cost_usd is not None:
            delta_usage["cost_usd"] = cost_usd
        frames.append(sse_frame("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": stop_reason, "stop_sequence": stop_sequence}, "usage": delta_usage}))
        if cost_usd is not None:
            frames.append(cost_comment(cost_usd))
        frames.append(sse_frame("message_stop", {"type": "message_stop"}))
        return frames

    def usage(self) -> dict | None:
        return normalized(self._usage)

    def error(self, status: int, message: str, code: str | None = None, type_: str | None = None) -> list[bytes]:
        """An error after the stream began: Anthropic sends an `error` event (the SDK raises it)."""
        self._ended = True
        return [stream_error(message, code, status, type_)]

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        message = {"id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": client_usage(self._usage)}
        return [sse_frame("message_start", {"type": "message_start", "message": message})]

    def _choice(self, choice: dict) -> list[bytes]:
        frames = []
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        if isinstance(delta.get("content"), str) and delta["content"]:
            frames += self._text(delta["content"])
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                frames += self._tool_fragment(call)
        if choice.get("finish_reason"):
            self._finish, self._matched = choice["finish_reason"], choice.get("stop_reason")
            frames += self._close()
        return frames

    def _text(self, text: str) -> list[bytes]:
        frames = []
        if self._open is not TEXT:
            frames = self._close() + self._begin(TEXT, {"type": "text", "text": ""})
        return frames + [self._delta(self._blocks - 1, {"type": "text_delta", "text": text})]

    def _tool_fragment(self, call: dict) -> list[bytes]:
        key = call.get("index")
        if key is None:  # a provider that does not number its calls: one call per id, fragments to the last
            key = call.get("id") or (list(self._tools)[-1] if self._tools else 0)
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        frames = []
        if key not in self._tools:
            block = {"type": "tool_use", "id": call.get("id") or f"toolu_{self.id[4:]}_{len(self._tools)}",
                     "name": function.get("name") or "", "input": {}}
            frames = self._close() + self._begin(key, block)
            self._tools[key] = self._blocks - 1
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            # A fragment of an earlier call (providers interleave rarely) goes to its own block by index.
            frames.append(self._delta(self._tools[key], {"type": "input_json_delta", "partial_json": arguments}))
        return frames

    def _begin(self, key, block: dict) -> list[bytes]:
        self._open = key
        self._blocks += 1
        return [sse_frame("content_block_start", {"type": "content_block_start", "index": self._blocks - 1,
                                                  "content_block": block})]

    def _delta(self, index: int, delta: dict) -> bytes:
        return sse_frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        self._open = None
        return [sse_frame("content_block_stop", {"type": "content_block_stop", "index": self._blocks - 1})]


# ---- errors ---------------------------------------------------------------------------------------

def client_error(status: int, message: str, code: str | None = None, type_: str | None = None,
                 param: str | None = None) -> tuple[int, dict]:
    """The gateway's or provider's error in Anthropic's shape, with the same status."""
    kind = ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return status, {"type": "error", "error": {"type": kind, "message": message}}


def stream_error(message: str, code: str | None = None, status: int = 502, type_: str | None = None) -> bytes:
    """An error told inside a started stream: Anthropic's `error` event (the SDK raises it)."""
    return sse_frame("error", client_error(status, message, code, type_)[1])

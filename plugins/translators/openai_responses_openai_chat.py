"""The OpenAI Responses API (the client's) onto OpenAI chat completions (the provider's).

Requests are checked with OpenAI's own messages and rewritten as chat requests: `instructions` and
`input` (a string, or messages and function_call / function_call_output items) become messages,
`max_output_tokens` becomes `max_tokens`, flat function tools become chat tools. Chat completions,
chunk streams and errors come back as Responses objects and events (`sequence_number` from 0).
The gateway is stateless: `previous_response_id`, `store: true` and item references are refused.
Left out, because a chat provider has no equivalent: built-in tools (web search, file search,
computer use, MCP...), file inputs, reasoning items (dropped when sent back), logprobs.
"""
import uuid

from plugins.json_body import invalid
from plugins.translators.openai_chat_usage import cost_comment, id_suffix, normalized, sse_frame
from schemas.errors import error_body

MIN_OUTPUT_TOKENS = 16  # the Responses API's own lower bound for max_output_tokens
MAX_OUTPUT_TOKENS = 2 ** 31 - 1
ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
TEXT_PARTS = ("input_text", "output_text")
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
ECHOED = ("instructions", "max_output_tokens", "metadata", "parallel_tool_calls", "temperature", "text",
          "tool_choice", "tools", "top_p", "truncation", "user")
STATELESS = "this gateway is stateless and stores no responses: send the whole conversation in `input`."


# ---- requests -------------------------------------------------------------------------------------

def to_provider_request(body: dict, model: str) -> dict:
    """The chat request for provider model `model`, or the Reject OpenAI would answer."""
    _refuse_state(body)
    chat = {"model": model, "messages": _instructions(body.get("instructions")) + _input(body.get("input"))}
    chat.update(_options(body))
    tools = _tools(body.get("tools"))
    if tools:
        chat["tools"] = tools
        chat.update(_tool_choice(body.get("tool_choice")))
    if _flag(body, "stream"):
        chat["stream"], chat["stream_options"] = True, {"include_usage": True}
    return chat


def _refuse_state(body: dict) -> None:
    if body.get("previous_response_id") is not None:
        raise invalid(f"'previous_response_id' is not supported: {STATELESS}", "previous_response_id",
                      "unsupported_parameter")
    if _flag(body, "store"):  # a boolean, as OpenAI checks it
        raise invalid(f"'store: true' is not supported: {STATELESS} Send 'store: false' or leave it out.", "store",
                      "unsupported_parameter")
    if body.get("conversation") is not None:
        raise invalid(f"'conversation' is not supported: {STATELESS}", "conversation", "unsupported_parameter")


def _flag(body: dict, name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"Invalid type for '{name}': expected a boolean, but got {_kind(value)} instead.", name,
                      "invalid_type")
    return bool(value)


def _kind(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), "null")


def _options(body: dict) -> dict:
    options = {}
    cap = body.get("max_output_tokens")
    if cap is not None:
        if not isinstance(cap, int) or isinstance(cap, bool):
            raise invalid(f"Invalid type for 'max_output_tokens': expected an integer, but got {_kind(cap)} "
                          "instead.", "max_output_tokens", "invalid_type")
        if cap < MIN_OUTPUT_TOKENS:
            raise invalid("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
                          f"{MIN_OUTPUT_TOKENS}, but got {cap} instead.", "max_output_tokens",
                          "integer_below_min_value")
        if cap > MAX_OUTPUT_TOKENS:
            raise invalid("Invalid 'max_output_tokens': integer above maximum value. Expected a value <= "
                          f"{MAX_OUTPUT_TOKENS}.", "max_output_tokens", "integer_above_max_value")
        options["max_tokens"] = cap
    for name, high in (("temperature", 2), ("top_p", 1)):
        value = _number(body.get(name), name, high)
        if value is not None:
            options[name] = value
    if isinstance(body.get("user"), str) and body["user"]:
        options["user"] = body["user"]
    if body.get("parallel_tool_calls") is not None:
        options["parallel_tool_calls"] = _flag(body, "parallel_tool_calls")
    options.update(_text_format(body.get("text")))
    return options


def _number(value, name: str, high: float):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise invalid(f"Invalid type for '{name}': expected a number, but got {_kind(value)} instead.", name,
                      "invalid_type")
    if value < 0:
        raise invalid(f"Invalid '{name}': decimal below minimum value. Expected a value >= 0, but got {value} "
                      "instead.", name, "decimal_below_min_value")
    if value > high:
        raise invalid(f"Invalid '{name}': decimal above maximum value. Expected a value <= {high}, but got {value} "
                      "instead.", name, "decimal_above_max_value")
    return value


def _text_format(text) -> dict:
    """`text.format` (json_schema / json_object) as the chat API's `response_format`."""
    form = text.get("format") if isinstance(text, dict) else None
    kind = form.get("type") if isinstance(form, dict) else None
    if kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if kind == "json_schema":
        schema = {key: form[key] for key in ("name", "schema", "description", "strict") if key in form}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    return {}


def _instructions(instructions) -> list[dict]:
    if instructions is None or instructions == "":
        return []
    if not isinstance(instructions, str):
        raise invalid(f"Invalid type for 'instructions': expected a string, but got {_kind(instructions)} instead.",
                      "instructions", "invalid_type")
    return [{"role": "system", "content": instructions}]


def _input(items) -> list[dict]:
    if items is None:
        raise invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise invalid(f"Invalid type for 'input': expected a string or an array of input items, but got "
                      f"{_kind(items)} instead.", "input", "invalid_type")
    messages: list[dict] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"Invalid type for 'input[{i}]': expected an object, but got {_kind(item)} instead.",
                          f"input[{i}]", "invalid_type")
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, f"input[{i}]"))
        elif kind == "function_call":
            _add_call(messages, item, f"input[{i}]")
        elif kind == "function_call_output":
            messages.append(_call_output(item, f"input[{i}]"))
        elif kind == "item_reference":
            raise invalid(f"Invalid 'input[{i}]': item references are not supported: {STATELESS}",
                          f"input[{i}]", "unsupported_value")
        elif kind != "reasoning":  # a reasoning item sent back belongs to the model that wrote it: dropped
            raise invalid(f"Invalid 'input[{i}].type': items of type {kind!r} are not supported by this gateway's "
                          "providers; use messages, function_call and function_call_output items.",
                          f"input[{i}].type", "unsupported_value")
    return messages


def _message(item: dict, where: str) -> dict:
    role = item.get("role")
    if role not in ROLES:
        raise invalid(f"Invalid value: {role!r}. Supported values are: 'user', 'assistant', 'system', and "
                      "'developer'.", f"{where}.role", "invalid_value")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": ROLES[role], "content": content}
    if not isinstance(content, list):
        raise invalid(f"Invalid type for '{where}.content': expected a string or an array of content parts, but "
                      f"got {_kind(content)} instead.", f"{where}.content", "invalid_type")
    parts = [_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
    if role != "user" or all(part["type"] == "text" for part in parts):
        # Text alone as one string: every provider takes it, and only user turns may carry images.
        if any(part["type"] != "text" for part in parts):
            raise invalid(f"Invalid '{where}.content': only user messages may contain images.",
                          f"{where}.content", "invalid_value")
        return {"role": ROLES[role], "content": "".join(part["text"] for part in parts)}
    return {"role": "user", "content": parts}


def _part(part, where: str) -> dict:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in TEXT_PARTS or kind == "refusal":
        text = part.get("refusal" if kind == "refusal" else "text")
        if not isinstance(text, str):
            raise invalid(f"Missing required parameter: '{where}.text'.", f"{where}.text", "missing_required_parameter")
        return {"type": "text", "text": text}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise invalid(f"Invalid '{where}': only images given by 'image_url' (a URL or a data URL) are "
                          "supported; this gateway stores no files.", f"{where}.image_url", "unsupported_value")
        detail = part.get("detail") if part.get("detail") in ("low", "high", "auto") else "auto"
        return {"type": "image_url", "image_url": {"url": url, "detail": detail}}
    raise invalid(f"Invalid '{where}.type': content parts of type {kind!r} are not supported by this gateway's "
                  "providers; use input_text and input_image.", f"{where}.type", "unsupported_value")


def _add_call(messages: list[dict], item: dict, where: str) -> None:
    """A function_call item joins the assistant turn just before it (chat puts a turn's calls on one message)."""
    for name in ("call_id", "name", "arguments"):
        if not isinstance(item.get(name), str):
            raise invalid(f"Missing required parameter: '{where}.{name}'.", f"{where}.{name}",
                          "missing_required_parameter")
    call = {"id": item["call_id"], "type": "function", "function": {"name": item["name"],
                                                                    "arguments": item["arguments"]}}
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and isinstance(last.get("content"), (str, type(None))):
        last.setdefault("tool_calls", []).append(call)
        if last.get("content") == "":
            last["content"] = None
        return
    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _call_output(item: dict, where: str) -> dict:
    if not isinstance(item.get("call_id"), str) or not item["call_id"]:
        raise invalid(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id",
                      "missing_required_parameter")
    output = item.get("output")
    if isinstance(output, list):
        parts = [_part(part, f"{where}.output[{j}]") for j, part in enumerate(output)]
        if any(part["type"] != "text" for part in parts):
            raise invalid(f"Invalid '{where}.output': a function call's output may carry text only here.",
                          f"{where}.output", "unsupported_value")
        output = "".join(part["text"] for part in parts)
    if not isinstance(output, str):
        raise invalid(f"Missing required parameter: '{where}.output'.", f"{where}.output", "missing_required_parameter")
    return {"role": "tool", "tool_call_id": item["call_id"], "content": output}


def _tools(tools) -> list[dict]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid(f"Invalid type for 'tools': expected an array, but got {_kind(tools)} instead.", "tools",
                      "invalid_type")
    return [_tool(tool, f"tools[{i}]") for i, tool in enumerate(tools)]


def _tool(tool, where: str) -> dict:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind != "function":
        raise invalid(f"Invalid '{where}.type': tools of type {kind!r} are not supported by this gateway's "
                      "providers; only function tools are.", f"{where}.type", "unsupported_value")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise invalid(f"Missing required parameter: '{where}.name'.", f"{where}.name", "missing_required_parameter")
    function = {"name": tool["name"]}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _tool_choice(choice) -> dict:
    if choice is None:
        return {}
    if choice in ("auto", "none", "required"):
        return {"tool_choice": choice}
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"tool_choice": {"type": "function", "function": {"name": choice["name"]}}}
    raise invalid("Invalid 'tool_choice': expected 'auto', 'none', 'required' or {\"type\": \"function\", "
                  "\"name\": ...}; other tool choices are not supported by this gateway's providers.",
                  "tool_choice", "unsupported_value")


# ---- responses ------------------------------------------------------------------------------------

def to_client_response(chat: dict, model: str, request: dict | None = None) -> dict:
    """A chat.completion as a Responses `response`; `request` (the client's body), when given, is echoed."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    seed = id_suffix(chat.get("id"), uuid.uuid4().hex)
    output = []
    if message.get("content") or message.get("refusal") or not message.get("tool_calls"):
        output.append(_message_item(f"msg_{seed}_0", message.get("content") or "", message.get("refusal")))
    for call in [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]:
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        output.append(_call_item(f"fc_{seed}_{len(output)}", call.get("id") or f"call_{seed}_{len(output)}",
                                 function.get("name") or "", function.get("arguments") or "", "completed"))
    created = chat.get("created") if isinstance(chat.get("created"), int) else 0
    return response_object(f"resp_{seed}", model, created, output, choice.get("finish_reason"),
                           chat.get("usage"), request)


def _message_item(item_id: str, text: str, refusal: str | None = None, status: str = "completed") -> dict:
    content = [{"type": "refusal", "refusal": refusal}] if refusal else [_text_part(text)]
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def _text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict:
    return {"id": item_id, "type": "function_call", "status": status, "call_id": call_id, "name": name,
            "arguments": arguments}


def response_object(response_id: str, model: str, created: int, output: list, finish: str | None,
                    usage: dict | None, request: dict | None, status: str | None = None) -> dict:
    """The `response` object: completed, incomplete (cut by max_output_tokens or a filter), in progress or failed."""
    reason = INCOMPLETE.get(finish)
    status = status or ("incomplete" if reason else "completed")
    response = {
        "id": response_id, "object": "response", "created_at": created, "status": status,
        "background": False, "error": None,
        "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        "instructions": None, "max_output_tokens": None, "metadata": {}, "model": model, "output": output,
        "parallel_tool_calls": True, "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
        "service_tier": "default", "store": False, "temperature": None, "text": {"format": {"type": "text"}},
        "tool_choice": "auto", "tools": [], "top_p": None, "truncation": "disabled",
        "usage": client_usage(usage) if status != "in_progress" else None, "user": None,
    }
    response.update({key: request[key] for key in ECHOED if isinstance(request, dict) and key in request})
    return response


def client_usage(usage: dict | None) -> dict:
    counts = normalized(usage) or {"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0,
                                   "reasoning_tokens": 0}
    return {"input_tokens": counts["input_tokens"],
            # cache_write_tokens: a field the current SDK requires; chat providers report no cache writes.
            "input_tokens_details": {"cached_tokens": counts["cached_input_tokens"], "cache_write_tokens": 0},
            "output_tokens": counts["output_tokens"],
            "output_tokens_details": {"reasoning_tokens": counts["reasoning_tokens"]},
            "total_tokens": counts["input_tokens"] + counts["output_tokens"]}


# ---- streams --------------------------------------------------------------------------------------

class StreamTranslator:
    """OpenAI chat.completion.chunk objects in, Responses stream events out (as SSE frames).

    response.created and response.in_progress open the stream; text is one message item (added, its
    output_text part added, deltas, text done, part done, item done), each tool call one function_call
    item (added, argument deltas, arguments done, item done); response.completed (or response.incomplete
    when the output was cut) carries the whole response and its usage.
    """

    def __init__(self, model: str, request_id: str, request: dict | None = None):
        self.model, self.request = model, request
        self.seed = id_suffix(request_id, uuid.uuid4().hex)
        self.id = f"resp_{self.seed}"
        self._sequence = 0
        self._started = self._ended = False
        self._created = 0
        self._output: list[dict] = []  # finished and open items, in output order
        self._open: dict | None = None  # the item being streamed
        self._calls: dict = {}          # tool-call key (the chunk's index) -> its output item
        self._finish: str | None = None
        self._usage: dict | None = None

    def feed(self, chunk: dict) -> list[bytes]:
        if self._ended or not isinstance(chunk, dict):
            return []
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]  # cumulative: the latest wins
        if not self._started and isinstance(chunk.get("created"), int):
            self._created = chunk["created"]
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
        response = response_object(self.id, self.model, self._created, self._output, self._finish, self._usage,
                                   self.request)
        if cost_usd is not None:
            response["usage"]["cost_usd"] = cost_usd
            frames.append(cost_comment(cost_usd))
        return frames + [self._event(f"response.{response['status']}", response=response)]

    def usage(self) -> dict | None:
        return normalized(self._usage)

    def error(self, status: int, message: str, code: str | None = None, type_: str | None = None) -> list[bytes]:
        """An error after the stream began: an `error` event, then `response.failed` ending the stream
        (the lifecycle event clients and the SDK's accumulator act on) with what was output so far."""
        frames = self._start()
        self._ended = True
        response = response_object(self.id, self.model, self._created, self._output, None, self._usage,
                                   self.request, "failed")
        response["error"] = {"code": "rate_limit_exceeded" if status == 429 else "server_error", "message": message}
        return frames + [self._event("error", code=code, message=message, param=None),
                         self._event("response.failed", response=response)]

    def _event(self, kind: str, **fields) -> bytes:
        frame = sse_frame(kind, {"type": kind, **fields, "sequence_number": self._sequence})
        self._sequence += 1
        return frame

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        response = response_object(self.id, self.model, self._created, [], None, None, self.request, "in_progress")
        return [self._event("response.created", response=response),
                self._event("response.in_progress", response=response)]

    def _choice(self, choice: dict) -> list[bytes]:
        frames = []
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        if isinstance(delta.get("content"), str) and delta["content"]:
            frames += self._text(delta["content"])
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                frames += self._tool_fragment(call)
        if choice.get("finish_reason"):
            self._finish = choice["finish_reason"]
            frames += self._close()
        return frames

    def _text(self, text: str) -> list[bytes]:
        frames = []
        if self._open is None or self._open["type"] != "message":
            frames = self._close() + self._add(_message_item(f"msg_{self.seed}_{len(self._output)}", "",
                                                             status="in_progress"))
            frames.append(self._event("response.content_part.added", item_id=self._open["id"],
                                      output_index=len(self._output) - 1, content_index=0, part=_text_part("")))
        self._open["content"][0]["text"] += text
        return frames + [self._event("response.output_text.delta", item_id=self._open["id"],
                                     output_index=len(self._output) - 1, content_index=0, delta=text, logprobs=[])]

    def _tool_fragment(self, call: dict) -> list[bytes]:
        key = call.get("index")
        if key is None:  # a provider that does not number its calls: one call per id, fragments to the last
            key = call.get("id") or (list(self._calls)[-1] if self._calls else 0)
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        frames = []
        if key not in self._calls:
            index = len(self._output)
            item = _call_item(f"fc_{self.seed}_{index}", call.get("id") or f"call_{self.seed}_{index}",
                              function.get("name") or "", "", "in_progress")
            frames = self._close() + self._add(item)
            self._calls[key] = item
        item = self._calls[key]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item["arguments"] += arguments
            frames.append(self._event("response.function_call_arguments.delta", item_id=item["id"],
                                      output_index=self._output.index(item), delta=arguments))
        return frames

    def _add(self, item: dict) -> list[bytes]:
        self._output.append(item)
        self._open = item
        return [self._event("response.output_item.added", output_index=len(self._output) - 1, item=item)]

    def _close(self) -> list[bytes]:
        item, self._open = self._open, None
        if item is None:
            return []
        index = self._output.index(item)
        item["status"] = "completed"
        if item["type"] == "message":
            part = item["content"][0]
            frames = [self._event("response.output_text.done", item_id=item["id"], output_index=index,
                                  content_index=0, text=part["text"], logprobs=[]),
                      self._event("response.content_part.done", item_id=item["id"], output_index=index,
                                  content_index=0, part=part)]
        else:
            frames = [self._event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                  name=item["name"], arguments=item["arguments"])]
        return frames + [self._event("response.output_item.done", output_index=index, item=item)]


# ---- errors ---------------------------------------------------------------------------------------

def client_error(status: int, message: str, code: str | None = None, type_: str | None = None,
                 param: str | None = None) -> tuple[int, dict]:
    """The Responses API answers errors in OpenAI's one shape: the gateway's own, unchanged."""
    return status, error_body(status, message, code, param, type_)

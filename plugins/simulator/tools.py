"""Function tools on chat completions: validated as OpenAI validates them, and the tool call a request gets.

A request calls a tool when its `tool_choice` is "required" (the first tool) or names a function, or is
"auto" (the default when tools are given) and the header `x-sim-tool-call: 1` asks for one. The arguments
come from tool_arguments.py.
"""
import re
from dataclasses import dataclass

from plugins.simulator.errors import invalid

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
CHOICES = ("none", "auto", "required")


@dataclass(frozen=True, slots=True)
class Tools:
    functions: list  # the `function` objects of the request's tools, in order
    choice: object   # "none" | "auto" | "required" | the name of the function asked for

    def to_call(self, forced_by_header: bool) -> dict | None:
        """The function object this request calls, or None for a text answer."""
        if self.choice in ("none", "auto"):
            return self.functions[0] if self.choice == "auto" and forced_by_header else None
        if self.choice == "required":
            return self.functions[0]
        return next(function for function in self.functions if function["name"] == self.choice)


def parse_tools(body: dict) -> Tools | None:
    tools, choice = body.get("tools"), body.get("tool_choice")
    if tools is None:
        if choice is not None:
            raise invalid("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                                         "'tools' are specified.")
        return None
    if not isinstance(tools, list):
        raise invalid("tools", "Invalid type for 'tools': expected an array.", "invalid_type")
    if not tools:
        raise invalid("tools", "Invalid 'tools': empty array. Expected an array with minimum length 1, but got "
                               "an empty array instead.", "empty_array")
    functions = [_function(tool, f"tools[{index}]") for index, tool in enumerate(tools)]
    return Tools(functions, _choice(choice, {function["name"] for function in functions}))


def _function(tool, where: str) -> dict:
    if not isinstance(tool, dict):
        raise invalid(where, f"Invalid type for '{where}': expected an object.", "invalid_type")
    if "type" not in tool:
        raise invalid(f"{where}.type", f"Missing required parameter: '{where}.type'.", "missing_required_parameter")
    if tool["type"] != "function":
        raise invalid(f"{where}.type", f"Invalid value: '{tool['type']}'. Supported values are: 'function' and "
                                       "'custom'.", "invalid_value")
    function = tool.get("function")
    if not isinstance(function, dict):
        raise invalid(f"{where}.function", f"Missing required parameter: '{where}.function'.",
                      "missing_required_parameter")
    name = function.get("name")
    if not isinstance(name, str):
        raise invalid(f"{where}.function.name", f"Missing required parameter: '{where}.function.name'.",
                      "missing_required_parameter")
    if not NAME.match(name):
        raise invalid(f"{where}.function.name", f"Invalid '{where}.function.name': string does not match "
                                                "pattern. Expected a string that matches the pattern "
                                                "'^[a-zA-Z0-9_-]+$'.", "invalid_value")
    if "parameters" in function and not isinstance(function["parameters"], dict):
        raise invalid(f"{where}.function.parameters", f"Invalid type for '{where}.function.parameters': "
                                                      "expected an object.", "invalid_type")
    return function


def _choice(choice, names: set[str]):
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in CHOICES:
            raise invalid("tool_choice", f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and "
                                         "'required'.", "invalid_value")
        return choice
    function = choice.get("function") if isinstance(choice, dict) and choice.get("type") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise invalid("tool_choice", "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
                                     "{'type': 'function', 'function': {'name': ...}}.", "invalid_value")
    if name not in names:
        raise invalid("tool_choice", f"Invalid value for 'tool_choice': no function named '{name}' was specified "
                                     "in the 'tools' parameter.", "invalid_value")
    return name

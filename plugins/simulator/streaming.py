"""Server-sent events for `"stream": true`, with optional cuts (clean end or TCP reset) mid-stream,
or sent whole with a Content-Length (x-sim-stream-content-length: 1)."""
import asyncio

from aiohttp import web

from plugins.simulator.bodies import DONE, PROVIDER_LIMIT_HEADERS, ChunkEncoder, tool_call_head
from plugins.simulator.completions import Completion
from plugins.simulator.options import SimOptions
from plugins.simulator.validation import ChatRequest

ROLE_DELTA = {"role": "assistant", "content": ""}


def split(words: list[str], parts: int, separator: str = " ") -> list[tuple[str, int]]:
    """`parts` pieces of the content as (text, word count); joined, the texts are exactly the content."""
    tokens = [word if index == 0 else separator + word for index, word in enumerate(words)]
    bounds = [len(tokens) * index // parts for index in range(parts + 1)]
    return [("".join(tokens[bounds[i]:bounds[i + 1]]), bounds[i + 1] - bounds[i]) for i in range(parts)]


def cut_point(options: SimOptions) -> tuple[int | None, bool]:
    """After how many content chunks to stop, and whether to reset the connection rather than end cleanly."""
    cuts = [cut for cut in (options.disconnect_after, options.reset_after) if cut is not None]
    if not cuts:
        return None, False
    cut = min(cuts)
    return cut, options.reset_after == cut


async def stream_completion(request: web.Request, chat: ChatRequest, options: SimOptions,
                            completion: Completion, entry: dict) -> web.StreamResponse:
    encoder = ChunkEncoder(entry["id"], int(entry["received_at"]), chat.model, chat.include_usage)
    tool_call = completion.tool_call is not None
    pieces = split(completion.words, options.chunks, "" if tool_call else " ")
    if tool_call:  # short arguments in many chunks would leave some empty: OpenAI sends no empty fragments
        pieces = [(text, count) for text, count in pieces if count]
    first = tool_call_head(completion) if tool_call else ROLE_DELTA
    piece = encoder.arguments if tool_call else encoder.content  # the chunks that carry the answer
    cut, reset = cut_point(options)
    if cut is not None:  # the ledger says what the client actually received
        entry.update(disconnected=True, completion_tokens=sum(count for _, count in pieces[:cut]))
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **PROVIDER_LIMIT_HEADERS}
    if options.stream_content_length:
        return _whole(headers, encoder, chat, completion, [piece(text) for text, _ in pieces[:cut]], first, cut)
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    sent = 0
    try:
        await response.write(encoder.delta(first))
        for text, count in pieces[:cut]:
            if options.chunk_interval_ms:
                await asyncio.sleep(options.chunk_interval_ms / 1000)
            await response.write(piece(text))
            sent += count
        if cut is not None:
            return await _end_early(request, response, reset)
        await _finish(response, encoder, chat, completion)
    except ConnectionError:  # the client went away: it got what was sent so far
        entry.update(disconnected=True, completion_tokens=sent)
    except asyncio.CancelledError:  # the same, when the server runs with handler_cancellation
        entry.update(disconnected=True, completion_tokens=sent)
        raise
    return response


def _whole(headers: dict, encoder: ChunkEncoder, chat: ChatRequest, completion: Completion,
           chunks: list[bytes], first: dict, cut: int | None) -> web.Response:
    """The whole stream in one body with its Content-Length; a cut leaves the end out."""
    events = [encoder.delta(first), *chunks]
    if cut is None:
        events.append(encoder.delta({}, completion.finish_reason))
        events += [encoder.usage(completion.usage())] if chat.include_usage else []
        events.append(DONE)
    return web.Response(body=b"".join(events), headers=headers)  # aiohttp sets Content-Length


async def _finish(response: web.StreamResponse, encoder: ChunkEncoder, chat: ChatRequest,
                  completion: Completion) -> None:
    await response.write(encoder.delta({}, completion.finish_reason))
    if chat.include_usage:
        await response.write(encoder.usage(completion.usage()))
    await response.write(DONE)
    await response.write_eof()


async def _end_early(request: web.Request, response: web.StreamResponse, reset: bool) -> web.StreamResponse:
    if reset and request.transport is not None:
        request.transport.abort()  # close at once, no terminating chunk: the client sees a truncated body
        return response
    await response.write_eof()  # a clean end of the HTTP body, but no finish chunk, usage or [DONE]
    return response

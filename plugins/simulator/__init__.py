"""The provider simulator: an aiohttp server that speaks the providers' chat-completions HTTP API (with
function tool calls, tools.py), OpenAI's embeddings API (embeddings.py), OpenAI's images API and MiniMax's
image and asynchronous video APIs (images.py, video.py).

It stands in for DeepSeek, OpenAI, Groq, Mistral, MiniMax and NVIDIA in development, tests and
benchmarks. Answers are deterministic (same messages → same content and usage), faults and latency
can be injected per request (``x-sim-*`` headers) or per provider/model (``/_sim/faults``), and every
request it served is kept in a ledger (``/_sim/ledger``) so tests can compare the gateway's
metering with what the provider really reported.
"""

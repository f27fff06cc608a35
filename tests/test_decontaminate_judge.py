"""The judge through an OpenAI-compatible endpoint: a real HTTP server on this machine serving
the packaged SmolLM2 (a minimal chat-completions server over transformers, below), against
the local judge's numbers; an unreachable endpoint is one line."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from platypus.cli import main
from platypus.config import DecontaminateConfig
from platypus.data.decontaminate.judge import EndpointJudge, LocalJudge
from platypus.data.decontaminate.run import decontaminate
from platypus.errors import PlatypusError

TOP = 20  # top_logprobs a server returns at most (OpenAI's and llama.cpp's limit)


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
    with pytest.raises(PlatypusError, match="judge endpoint http://127.0.0.1:9/v1"):
        EndpointJudge("http://127.0.0.1:9/v1", "m", timeout=5).same_question(PAIRS[:1])
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

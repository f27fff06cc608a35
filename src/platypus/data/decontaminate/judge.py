"""An optional second opinion from an LLM on uncertain pairs, as llm-decontaminator (Yang et al.
2023) asks it: are these two questions the same, up to wording, names and option order?

Its verdict is P("True") / (P("True") + P("False")) for the first answer token. Two backends
(`JUDGES`): a local causal LM through transformers (`judge_model`, default the packaged
SmolLM2), or any OpenAI-compatible server (`judge_endpoint: http://host:port/v1`, e.g. vLLM,
llama.cpp, a hosted API) serving `judge_model`, read from the answer's log-probabilities when
the server returns them, else from its text. The packaged SmolLM2-135M is too small to judge
this (it gives identical and unrelated questions alike about the same probability): use a
larger instruct model.

The endpoint backend talks chat completions through the official `openai` client (imported only
when an endpoint is used): the key is $OPENAI_API_KEY (unset: a placeholder, for local servers
that need none), each request waits at most `judge_timeout` seconds and is retried
`judge_retries` times with backoff on connection errors, timeouts, 429 and 5xx. A failure that
remains (refused connection, 401, a model the server lacks, no answer) is one `PlatypusError`
naming the endpoint and what to do.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

from platypus.errors import PlatypusError

INSTRUCTION = (
    "You will see two questions, each enclosed in curly braces. Decide whether they are the "
    "same question. Ignore differences in names, in wording, in word order and in the order "
    "or lettering of answer options. If the two prompts are very similar and, without "
    "considering how they are solved, have the same answer, they are the same question. "
    "Answer 'True' if they are the same and 'False' if not. Reply with that one word only."
)


def prompt(a: str, b: str) -> str:
    return "Part 1: {\n" + a + "\n}\nPart 2: {\n" + b + "\n}"


class LocalJudge:
    """A causal LM on this machine: the next-token probabilities of "True" and "False"."""

    def __init__(
        self, model_name: str | None = None, max_chars: int = 1500, trust_remote_code=False
    ):
        from platypus.models import load_causal_lm

        self.model, self.tokenizer = load_causal_lm(model_name, trust_remote_code=trust_remote_code)
        self.max_chars = max_chars
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        space = "" if self.chat else " "  # after "Answer:" the word comes with its space
        self.yes = self.tokenizer(space + "True", add_special_tokens=False).input_ids[0]
        self.no = self.tokenizer(space + "False", add_special_tokens=False).input_ids[0]

    def _ids(self, text: str):
        if self.chat:
            messages = [{"role": "system", "content": INSTRUCTION},
                        {"role": "user", "content": text}]  # fmt: skip
            from platypus.train.template import render_chat

            ids = render_chat(self.tokenizer, messages, add_generation_prompt=True,
                              tokenize=True, return_tensors="pt", return_dict=True)  # fmt: skip
            return ids["input_ids"]
        return self.tokenizer(f"{INSTRUCTION}\n\n{text}\nAnswer:", return_tensors="pt").input_ids

    def same_question(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        import torch

        out = []
        for a, b in pairs:
            ids = self._ids(prompt(a[: self.max_chars], b[: self.max_chars]))
            with torch.inference_mode():
                logits = self.model(ids).logits[0, -1]
            pair = torch.stack([logits[self.yes], logits[self.no]]).float().softmax(0)
            out.append(float(pair[0]))
        return out


class EndpointJudge:
    """An OpenAI-compatible chat-completions server, through the `openai` client."""

    def __init__(
        self,
        endpoint: str,
        model: str | None,
        max_chars: int = 1500,
        timeout: float = 60.0,
        retries: int = 2,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.model = model or "default"
        self.max_chars = max_chars
        self.timeout = timeout
        self.retries = retries
        if not self.endpoint.startswith(("http://", "https://")):
            raise PlatypusError(
                f"judge_endpoint {endpoint!r}: give the server's URL, e.g. http://host:port/v1"
            )
        try:
            import openai
        except ImportError:
            raise PlatypusError(
                "judge_endpoint needs the openai package: pip install openai"
            ) from None
        self._openai = openai
        self.client = openai.OpenAI(
            base_url=self.endpoint,
            # A local server (vLLM, llama.cpp) usually takes any key; the client insists on one.
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
            max_retries=retries,
            timeout=timeout,
        )

    def _complete(self, messages: list[dict]) -> dict:
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=0.0,
                max_tokens=3,
                logprobs=True,
                top_logprobs=10,
            )
        except self._openai.OpenAIError as exc:
            raise PlatypusError(f"judge endpoint {self.endpoint}: {self._explain(exc)}") from None
        data = response.to_dict() if hasattr(response, "to_dict") else None
        choices = (data or {}).get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise PlatypusError(
                f"judge endpoint {self.endpoint}: the answer has no choices; is it an "
                "OpenAI-compatible /chat/completions?"
            )
        return choices[0]

    def _explain(self, exc: Exception) -> str:
        """What went wrong and what to do, in one line."""
        openai = self._openai
        tries = f"{self.retries + 1} tries" if self.retries else "1 try"
        if isinstance(exc, openai.APITimeoutError):
            return (
                f"no answer within {self.timeout:g} s ({tries}); is the server up and "
                "serving? raise judge_timeout for a slow one"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = _one_line(str(cause or exc.message))
            return f"cannot connect ({reason}, {tries}); is the server running at this address?"
        if isinstance(exc, openai.APIStatusError):
            said = _server_message(exc)
            if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
                key = (
                    "check the key in OPENAI_API_KEY"
                    if os.environ.get("OPENAI_API_KEY")
                    else "set OPENAI_API_KEY to its API key"
                )
                return f"refused with {exc.status_code} ({said}); {key}"
            if isinstance(exc, openai.NotFoundError):
                return (
                    f"404 ({said}); does it serve model {self.model!r} (set judge_model) "
                    "and is the URL its /v1 base?"
                )
            if isinstance(exc, openai.BadRequestError):
                return f"rejected the request with 400 ({said}); check judge_model {self.model!r}"
            return f"answered {exc.status_code} ({said}) after {tries}"
        return _one_line(str(exc))

    def verdict(self, a: str, b: str) -> float:
        choice = self._complete(
            [
                {"role": "system", "content": INSTRUCTION},
                {"role": "user", "content": prompt(a[: self.max_chars], b[: self.max_chars])},
            ]
        )
        p = _from_logprobs(choice.get("logprobs"))
        if p is not None:
            return p
        text = (choice.get("message") or {}).get("content") or ""
        word = text.strip().strip(".'\"").lower()
        return 1.0 if word.startswith("true") else 0.0

    def same_question(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [self.verdict(a, b) for a, b in pairs]


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _server_message(exc) -> str:
    """The message in an error answer's body, else its text."""
    body = exc.body
    if isinstance(body, dict):
        body = body.get("message") or body.get("detail") or body
    return _one_line(str(body) if body else exc.message)


def _from_logprobs(logprobs: dict | None) -> float | None:
    """P(True) / (P(True) + P(False)) from the first token's top log-probabilities, if there."""
    content = (logprobs or {}).get("content") or []
    if not content:
        return None
    mass = {"true": 0.0, "false": 0.0}
    for entry in content[0].get("top_logprobs") or [content[0]]:
        word = entry.get("token", "").strip().lower()
        if word in mass:
            mass[word] += math.exp(entry["logprob"])
    total = mass["true"] + mass["false"]
    return mass["true"] / total if total > 0 else None


# judge backend by whether an endpoint is given
JUDGES: dict[str, Callable[..., LocalJudge | EndpointJudge]] = {
    "local": lambda config: LocalJudge(
        config.judge_model, trust_remote_code=config.compute.trust_remote_code
    ),
    "endpoint": lambda config: EndpointJudge(
        config.judge_endpoint,
        config.judge_model,
        timeout=config.judge_timeout,
        retries=config.judge_retries,
    ),
}


def make_judge(config) -> LocalJudge | EndpointJudge:
    return JUDGES["endpoint" if config.judge_endpoint else "local"](config)


# The name earlier code and tests use for the local judge.
Judge = LocalJudge

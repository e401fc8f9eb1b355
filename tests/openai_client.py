"""The official `openai` Python client against a running curator server (scripts/test-openai-client.sh
starts one with the smallest model). Checks that an unmodified client can chat, stream, list models, and
reach the citations curator sends along."""
import os
import sys

import openai

base = os.environ["CURATOR_URL"]
client = openai.OpenAI(base_url=base + "/v1", api_key="not-needed")
question = [{"role": "user", "content": "Who painted The Milkmaid?"}]
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


models = client.models.list()
check(len(models.data) == 1 and models.data[0].id.startswith("curator"), f"models.list: {[m.id for m in models.data]}")

reply = client.chat.completions.create(model=models.data[0].id, messages=question)
check(reply.choices[0].message.role == "assistant", "chat.completions.create returns an assistant message")
check(isinstance(reply.choices[0].message.content, str), "the message has text content")
extra = reply.model_extra or {}
check(isinstance(extra.get("sources"), list) and len(extra["sources"]) > 0, "sources travel with the completion")
check(isinstance(extra.get("citations"), list), "citations travel with the completion")
given = {s["number"] for s in extra.get("sources", [])}
check(all(c["number"] in given for c in extra.get("citations", [])), "every citation points at a given source")

stream = client.chat.completions.create(model=models.data[0].id, messages=question, stream=True)
text, last = "", None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    last = chunk
check(len(text) > 0, f"streaming delivers text ({len(text)} characters)")
check(last is not None and last.choices[0].finish_reason in ("stop", "length"), "the stream ends with a finish reason")
check(isinstance((last.model_extra or {}).get("citations"), list), "the last chunk of the stream carries the citations")

try:
    client.chat.completions.create(model="x", messages=[])
    check(False, "an empty conversation is refused")
except openai.BadRequestError as e:
    check("user message" in str(e), f"an empty conversation is a 400 the client understands: {e}")

sys.exit(1 if failures else 0)

"""Issue 15's standing fuzzing: every route, with hostile path segments, query strings and bodies, must answer
without a 500, within 5 s, and leave /history, /queue and /api/jobs answering 200.

The default run is small enough to keep the suite fast; ``INKGRAPH_FUZZ_LONG=1`` runs many more examples.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkgraph.engine.server.app import PromptServer

from .util import deep_json, make_budget_server, strict_json

LONG = os.environ.get("INKGRAPH_FUZZ_LONG", "") not in ("", "0")
EXAMPLES = 20_000 if LONG else 1000
HANG_S = 5.0
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

QUERY_KEYS = ["filename", "type", "subfolder", "preview", "channel", "max_items", "offset", "status", "sort_by",
              "sort_order", "limit", "workflow_id", "dir", "recurse", "full_info", "split", "path", "overwrite",
              "token", "clientId"]
nasty_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["..", "../..", "%2e%2e", "/etc/passwd", "\\..\\x", "a/../../b", "NaN", "Infinity", "-1",
                     "1e999", "9" * 30, "-" + "9" * 30, "webp;1000", "jpeg;\u00b2", "true", "", " ", "\x00",
                     "\ud800", "output", "input", "temp", "loras", "checkpoints", "0"]),
    st.integers(200, 5000).map(lambda n: "x" * n))
json_leaf = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
             | nasty_text)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(nasty_text, inner, max_size=4), max_leaves=16)


def encode(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    st.none(),
    json_value.map(encode),
    st.binary(max_size=256),
    st.integers(50, 3000).map(lambda depth: deep_json(depth).encode()),
    st.fixed_dictionaries({}, optional={k: json_value for k in ("prompt", "prompt_id", "client_id", "number",
                                                               "extra_data", "front", "clear", "delete",
                                                               "job_ids", "workflow", "to", "clientId",
                                                               "enabled", "unload_models")}).map(encode),
    st.tuples(st.binary(max_size=64), nasty_text, nasty_text, nasty_text).map(lambda t: ("form", *t)),
)
content_types = st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=B",
                                 "application/octet-stream", ""])


def routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, HEAD left out (aiohttp adds it to GETs)."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path") or (info.get("prefix", "") + "/{filename}")
        if route.method != "HEAD":
            found.append((route.method if route.method != "*" else "GET", template))
    return sorted(set(found))


def fill(template: str, values: list[str]) -> str:
    parts = iter(values)
    return PARAM.sub(lambda m: quote(next(parts, "x"), safe="", errors="surrogatepass"), template)


def query_string(query: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}" for k, v in query.items())


async def send(client: TestClient, method: str, url: str, body: Any, content_type: str) -> int:
    headers = {"Content-Type": content_type} if content_type else {}
    data: Any = body
    if isinstance(body, tuple):
        form = FormData()
        filename = "".join(c for c in body[2] if c.isprintable() and c != "\ud800")  # aiohttp's client refuses
        form.add_field("image", body[1], filename=filename or "f.png", content_type="image/png")  # the rest
        for name, value in (("type", body[3]), ("subfolder", body[4]), ("original_ref", body[3])):
            form.add_field(name, value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
        data, headers = form, {}
    response = await asyncio.wait_for(client.request(method, url, data=data, headers=headers), HANG_S)
    await asyncio.wait_for(response.read(), HANG_S)
    return response.status


async def still_serving(client: TestClient) -> None:
    """The server answers, and what it stored reads back as JSON a browser can parse."""
    for path in ("/history?max_items=3", "/queue", "/api/jobs?limit=3"):
        response = await asyncio.wait_for(client.get(path), HANG_S)
        assert response.status == 200, (path, await response.text())
        strict_json(await response.text())


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_every_route_survives_hostile_requests(client: TestClient, server: PromptServer,
                                                     data: st.DataObject) -> None:
    method, template = data.draw(st.sampled_from(routes(client.app)), label="route")
    values = data.draw(st.lists(nasty_text, min_size=3, max_size=3), label="path values")
    query = data.draw(st.dictionaries(st.sampled_from(QUERY_KEYS), nasty_text, max_size=4), label="query")
    body = data.draw(bodies, label="body") if method != "GET" else None
    url = fill(template, values) + ("?" + query_string(query) if query else "")
    status = await send(client, method, url, body, data.draw(content_types, label="content type"))
    assert status < 500, (method, url, body, status)
    await still_serving(client)


NODE_TYPES = ["StubConst", "StubAdd", "StubScale", "StubOutput", "StubSlow", "StubFail", "StubEven", "EmptyImage",
              "EmptyLatentImage", "SolidMask", "SaveImage", "PreviewImage", "LoadImage", "ImageInvert", "Nope"]
INPUT_NAMES = ["value", "a", "b", "factor", "label", "steps", "delay", "width", "height", "batch_size", "color",
               "images", "image", "filename_prefix", "message"]
input_values = st.one_of(
    json_leaf, st.integers(-2, 70), st.sampled_from([1e308, -1e308, 2**63, -(2**64), 10**30, "a" * 300, "../x",
                                                     "%batch_num%", "sub/../../x", "\x00"]),
    st.tuples(st.sampled_from(["1", "2", "3", "9", "x"]), st.integers(-1, 3)).map(list),
    st.integers(110, 400).map(lambda depth: json.loads(deep_json(depth))))
prompts = st.dictionaries(
    st.sampled_from(["1", "2", "3", "9", "x"]),
    st.fixed_dictionaries({"class_type": st.sampled_from(NODE_TYPES)},
                          optional={"inputs": st.dictionaries(st.sampled_from(INPUT_NAMES), input_values,
                                                              max_size=4),
                                    "_meta": st.fixed_dictionaries({"title": nasty_text})}),
    max_size=5)
prompt_bodies = st.fixed_dictionaries({"prompt": prompts}, optional={
    "number": json_leaf, "front": json_leaf, "prompt_id": json_leaf, "client_id": json_leaf,
    "extra_data": json_value, "partial_execution_targets": json_value})


@pytest.fixture
async def small_client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    """A server whose allocation budget is tiny, so that every fuzzed prompt that validates also runs fast."""
    client: TestClient = await aiohttp_client(make_budget_server(tmp_path, 64 * 64).make_app())
    return client


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=prompt_bodies)
async def test_prompt_bodies_never_cause_a_500(small_client: TestClient, body: dict[str, Any]) -> None:
    """Structured prompts of real node types with hostile values: a 200 or a 400 with an error, never more."""
    client = small_client
    response = await asyncio.wait_for(client.post("/prompt", data=encode(body),
                                                  headers={"Content-Type": "application/json"}), HANG_S)
    assert response.status in (200, 400), (body, response.status, await response.text())
    assert "error" in await response.json() or response.status == 200
    await still_serving(client)

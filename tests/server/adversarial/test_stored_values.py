"""Defects 1, 2, 6 and 10 of issue 15: what a request makes the server store (prefixes, JSON values, numbers,
files) can neither exhaust it nor break the routes that read it back."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from inkgraph.engine.core import paths
from inkgraph.engine.server.app import PromptServer

from ..conftest import chain_prompt, make_server
from ..test_files_and_security import png, upload
from .util import deep_json, image_prompt, run_to_end, strict_json


async def post_raw(client: TestClient, text: str) -> Any:
    return await client.post("/prompt", data=text.encode(), headers={"Content-Type": "application/json"})


async def readers_answer(client: TestClient) -> None:
    """The routes that read what was stored answer 200 with JSON a browser can parse."""
    for path in ("/history", "/queue", "/api/jobs", "/history?max_items=5"):
        response = await client.get(path)
        assert response.status == 200, (path, await response.text())
        strict_json(await response.text())


# -- 1: filename_prefix ------------------------------------------------------------------------------------

async def test_long_filename_prefix_is_a_validation_error(client: TestClient) -> None:
    response = await client.post("/prompt", json={"prompt": image_prompt("a" * 300)})
    assert response.status == 400
    errors = (await response.json())["node_errors"]["2"]["errors"]
    assert errors[0]["extra_info"]["input_name"] == "filename_prefix"
    assert "filename_prefix" in errors[0]["details"]
    ok = await client.post("/prompt", json={"prompt": image_prompt("sub/" + "a" * 150)})
    assert ok.status == 200


def test_save_counter_compiles_no_regex_from_the_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.b_00003_.png", "a.b_00007_.png", "aXb_00009_.png", "a.b_x_.png", "q1_00002_.png",
                 "q7_00005_.png", "q_00004_.png", "a.b_0001_extra.png"):
        (tmp_path / name).write_bytes(b"")

    def no_regex(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a regular expression was compiled")

    monkeypatch.setattr(re, "compile", no_regex)
    monkeypatch.setattr(re, "match", no_regex)
    assert paths.next_counter(tmp_path, "a.b") == 8  # '.' is a character, not a pattern
    assert paths.next_counter(tmp_path, "q%batch_num%") == 6  # any number stands for %batch_num%
    assert paths.next_counter(tmp_path, "(unbalanced[") == 1


def test_save_target_refuses_prefixes_no_file_system_takes(tmp_path: Path) -> None:
    for prefix in ("a" * 300, "sub/" + "b" * 300, "x\x00y", "/".join(["d" * 100] * 12)):
        with pytest.raises(ValueError, match="filename_prefix"):
            paths.save_target(tmp_path, "output", prefix, 8, 8)


# -- 2: nesting of stored JSON --------------------------------------------------------------------------------

async def test_deeply_nested_extra_data_is_refused_at_the_door(client: TestClient) -> None:
    prompt = json.dumps({"prompt": chain_prompt()})[:-1]
    response = await post_raw(client, prompt + ', "extra_data": {"x": ' + deep_json(976) + "}}")
    assert response.status == 400
    assert "nested" in (await response.json())["error"]["message"]
    fine = await post_raw(client, prompt + ', "extra_data": {"x": ' + deep_json(40) + "}}")
    assert fine.status == 200
    await readers_answer(client)


async def test_history_survives_entries_written_before_the_bounds(aiohttp_client: Any, tmp_path: Path) -> None:
    first = make_server(tmp_path)
    first.queue.close()
    db = sqlite3.connect(str(tmp_path / "user" / "inkgraph.db"))
    good = {"prompt": [1, "good", {}, {}, []], "outputs": {}, "status": {"status_str": "success",
                                                                          "completed": True, "messages": []}}
    deep = '{"prompt": [2, "deep", {}, {"x": ' + deep_json(976) + '}, []], "outputs": {}, "status": {}}'
    rows = [("good", json.dumps(good)), ("deep", deep), ("torn", '{"prompt": [3, "to'),
            ("inf", json.dumps({**good, "prompt": [math.inf, "inf", {}, {}, []]}))]
    db.executemany("INSERT INTO history (prompt_id, entry) VALUES (?, ?)", rows)
    pending = {"number": math.inf, "prompt_id": "later", "prompt": chain_prompt(), "extra_data": {},
               "outputs_to_execute": ["9"]}
    db.execute("INSERT INTO queue (prompt_id, number, item) VALUES (?, ?, ?)",
               ("later", math.inf, json.dumps(pending)))
    db.execute("PRAGMA user_version = 0")  # as a database written before the bounds
    db.commit()
    db.close()
    server = make_server(tmp_path)
    client = await aiohttp_client(server.make_app())
    await readers_answer(client)
    for prompt_id in ("good", "deep", "torn", "inf"):
        for path in (f"/history/{prompt_id}", f"/api/jobs/{prompt_id}"):
            response = await client.get(path)
            assert response.status == 200, (path, await response.text())
            strict_json(await response.text())
    history = strict_json(await (await client.get("/history")).text())
    assert {"good", "deep", "torn", "inf"} <= set(history)
    response = await client.post("/prompt", json={"prompt": chain_prompt()})
    assert response.status == 200
    assert math.isfinite((await response.json())["number"])


# -- 6: finite numbers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["NaN", "1e999", "-1e999", "Infinity", '"nan"', '"-inf"', '"Infinity"'])
async def test_non_finite_numbers_are_refused(client: TestClient, number: str) -> None:
    body = json.dumps({"prompt": chain_prompt()})[:-1] + ', "number": ' + number + "}"
    response = await post_raw(client, body)
    assert response.status == 400, await response.text()
    assert "error" in await response.json()
    await readers_answer(client)


async def test_non_finite_float_inputs_are_refused(client: TestClient) -> None:
    prompt = chain_prompt()
    prompt["5"] = {"class_type": "StubScale", "inputs": {"value": ["1", 0], "factor": "nan"}}
    prompt["9"]["inputs"]["value"] = ["5", 0]
    response = await client.post("/prompt", json={"prompt": prompt})
    assert response.status == 400
    assert (await response.json())["node_errors"]["5"]["errors"][0]["extra_info"]["input_name"] == "factor"
    for literal in ("NaN", "1e999"):
        text = json.dumps({"prompt": prompt}).replace('"nan"', literal)
        assert (await post_raw(client, text)).status == 400
    await readers_answer(client)


# -- 10: writes never follow a link ----------------------------------------------------------------------------

async def test_upload_never_writes_through_a_dangling_link(client: TestClient, server: PromptServer,
                                                           tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    folder = server.runtime.folders.input
    assert (await upload(client, png((1, 0, 0, 255))))[1]["name"] == "a.png"
    (folder / "a (1).png").symlink_to(outside / "planted.png")  # dangling: its target does not exist yet
    status, body = await upload(client, png((2, 0, 0, 255)))
    assert status == 200 and body["name"] == "a (2).png"
    assert not (outside / "planted.png").exists()
    (folder / "b.png").symlink_to(outside / "other.png")
    status, _ = await upload(client, png((3, 0, 0, 255)), "b.png", overwrite="true")
    assert status == 400 and not (outside / "other.png").exists()  # a name that leads out is refused
    (folder / "c.png").symlink_to("a.png")  # a link that stays inside: replaced, never followed
    status, body = await upload(client, png((4, 0, 0, 255)), "c.png", overwrite="true")
    assert status == 200 and body["name"] == "c.png" and not (folder / "c.png").is_symlink()
    assert (folder / "a.png").read_bytes() == png((1, 0, 0, 255))
    assert list(outside.iterdir()) == []


async def test_save_image_never_writes_through_a_dangling_link(client: TestClient, server: PromptServer,
                                                               tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    output = server.runtime.folders.output

    await run_to_end(client, image_prompt("pic"))
    assert (output / "pic_00001_.png").is_file()
    (output / "pic_00002_.png").symlink_to(outside / "planted.png")
    await run_to_end(client, image_prompt("pic", color=0x102030))
    assert not (outside / "planted.png").exists()
    assert (output / "pic_00003_.png").is_file()

"""Issue 15's allocation budget: what empty image and latent nodes would allocate is estimated at validation,
and a request beyond ``--max-batch-pixels`` is refused naming the node and the input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inkgraph.engine.cli.parser import build_parser, settings_from
from inkgraph.engine.core.settings import Settings

from .util import image_prompt, make_budget_server


def latent_prompt(width: int, height: int, batch: int) -> dict[str, Any]:
    return {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": width, "height": height,
                                                               "batch_size": batch}},
            "2": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["3", 2]}},
            "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
            "4": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "p"}}}


async def test_petabyte_latent_is_refused_naming_node_and_input(client: Any) -> None:
    response = await client.post("/prompt", json={"prompt": latent_prompt(16384, 16384, 4096)})
    assert response.status == 400
    error = (await response.json())["node_errors"]["1"]["errors"][0]
    assert error["type"] == "value_bigger_than_max"
    assert error["extra_info"]["input_name"] == "batch_size"
    assert "--max-batch-pixels" in error["details"]


async def test_budget_is_configurable(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(make_budget_server(tmp_path, 64 * 64).make_app())
    assert (await client.post("/prompt", json={"prompt": image_prompt(width=64, height=64)})).status == 200
    refused = await client.post("/prompt", json={"prompt": image_prompt(width=64, height=64, batch=2)})
    assert refused.status == 400
    error = (await refused.json())["node_errors"]["1"]["errors"][0]
    assert error["extra_info"]["input_name"] == "batch_size" and error["message"].endswith("max of 1")


def test_cli_flag_sets_the_budget() -> None:
    args = build_parser().parse_args(["serve", "--max-batch-pixels", "1000"])
    assert settings_from(args).max_batch_pixels == 1000
    assert settings_from(build_parser().parse_args(["serve"])).max_batch_pixels == Settings().max_batch_pixels

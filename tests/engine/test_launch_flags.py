"""``inkgraph serve`` accepts ComfyUI's ``main.py`` flags (as launch scripts, the desktop app and
ComfyUI-Manager pass them) and turns them into the one Settings and the server's ServerConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from inkgraph.engine.cli import main
from inkgraph.engine.cli.parser import GB, build_parser, server_config_from, settings_from
from inkgraph.engine.core.cache import LRUCache, make_cache
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.server.app import ServerConfig


def parse(*argv: str) -> tuple[Settings, ServerConfig]:
    args = build_parser().parse_args(["serve", *argv])
    return settings_from(args), server_config_from(args)


def test_a_comfyui_launch_line(tmp_path: Path) -> None:
    (tmp_path / "front").mkdir()
    settings, config = parse(
        "--listen", "--port", "8190", "--base-directory", str(tmp_path), "--output-directory", str(tmp_path / "o"),
        "--input-directory", str(tmp_path / "i"), "--temp-directory", str(tmp_path / "t"),
        "--user-directory", str(tmp_path / "u"), "--extra-model-paths-config", "a.yaml",
        "--extra-model-paths-config", "b.yaml", "--lowvram", "--cache-lru", "10", "--preview-method", "auto",
        "--enable-cors-header", "--disable-auto-launch", "--dont-print-server", "--verbose",
        "--front-end-root", str(tmp_path / "front"), "--disable-all-custom-nodes", "--whitelist-custom-nodes",
        "KJNodes", "rgthree", "--disable-api-nodes", "--max-upload-size", "2.5",
        "--database-url", "sqlite:///:memory:", "--multi-user")
    assert settings == Settings(
        base_dir=tmp_path, output_dir=tmp_path / "o", input_dir=tmp_path / "i", temp_dir=tmp_path / "t",
        user_dir=tmp_path / "u", extra_model_paths=(Path("a.yaml"), Path("b.yaml")), vram="low", cache="lru",
        cache_entries=10, preview_method="auto", custom_nodes=False, whitelist_custom_nodes=("KJNodes", "rgthree"),
        api_nodes=False)
    assert config.hosts == ["0.0.0.0", "::"] and config.port == 8190 and config.auth_token  # made up: not loopback
    assert config.cors_origin == "*" and config.quiet and config.multi_user and config.max_upload_mb == 2.5
    assert config.web_root == (tmp_path / "front").resolve() and config.database_path() == Path(":memory:")


@pytest.mark.parametrize(("flags", "expected"), [
    ((), ("lru", 4 * GB, 0, "normal")),
    (("--cache-classic",), ("classic", 4 * GB, 0, "normal")),
    (("--cache-none", "--cpu"), ("none", 4 * GB, 0, "cpu")),
    (("--cache-ram",), ("lru", 4 * GB, 0, "normal")),
    (("--cache-ram", "8", "--highvram"), ("lru", 8 * GB, 0, "high")),
    (("--cache", "classic", "--novram"), ("classic", 4 * GB, 0, "low")),
    (("--normalvram",), ("lru", 4 * GB, 0, "normal")),
])
def test_cache_and_memory_flags(flags: tuple[str, ...], expected: tuple[str, int, int, str]) -> None:
    settings, _ = parse(*flags)
    assert (settings.cache, settings.cache_budget_bytes, settings.cache_entries, settings.vram) == expected


def test_listen_addresses_and_unknown_flags(capsys: pytest.CaptureFixture[str]) -> None:
    _, config = parse("--listen", "127.0.0.1,::1")
    assert config.hosts == ["127.0.0.1", "::1"] and config.auth_token is None  # loopback only: no token needed
    _, config = parse("--listen", "192.168.1.5")
    assert config.auth_token is not None
    for bad in (["--lowvram", "--highvram"], ["--cache-none", "--cache-lru", "3"], ["--not-a-comfyui-flag"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", *bad])
        assert exit_info.value.code == 2
        assert "error:" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="sqlite"):
        parse("--database-url", "postgresql://db/comfy")
    with pytest.raises(RuntimeError, match="not a folder"):
        parse("--front-end-root", "/no/such/folder")


def test_folder_flags_move_the_folders_the_engine_uses(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    settings, _ = parse("--base-directory", str(tmp_path / "base"), "--output-directory", str(elsewhere / "out"),
                        "--user-directory", str(elsewhere / "user"))
    runtime = Runtime.create(settings)
    folders = runtime.folders
    assert folders.output == (elsewhere / "out").resolve() and folders.user == (elsewhere / "user").resolve()
    assert folders.input == (tmp_path / "base" / "input").resolve() and folders.output.is_dir()
    assert folders.resolve("output", "a.png") == folders.output / "a.png"
    with pytest.raises(ValueError, match="leaves its folder"):
        folders.resolve("output", "../../escape.png")


def test_cache_lru_keeps_at_most_n_results() -> None:
    from inkgraph.engine.core.cache import CacheEntry

    cache = make_cache("lru", 10 * GB, max_entries=2)
    assert isinstance(cache, LRUCache)
    for key in (b"a", b"b", b"c"):
        cache.put(key, CacheEntry(outputs=([1],), ui=None, nbytes=10))
    assert b"a" not in cache and b"b" in cache and b"c" in cache

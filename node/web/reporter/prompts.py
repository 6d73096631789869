"""Spoken prompts (issue 20): the organisation's own short recordings of each question of
the form and of the safety information, per language, named in ``node.toml``
(``[spoken_prompts]``).

They are read and checked once when the app starts -- a missing file, one that is not
sound (sniffed by content, as reporters' files are) or one over `MAX_BYTES` stops the node
with an error naming it -- and served from memory at ``/prompts/{lang}/{place}`` with the
type their content says. Never cached (``no-store``, as every page of the site): a cached
prompt would be a trace on a shared phone that this site was visited. Pages offer them in a
plain ``<audio controls preload="none">`` (the ``public/_prompts.html`` macro): visible,
works without script, fetched only when the reporter presses play, never played by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from node import errors
from node.config import ConfigError, NodeConfig
from node.intake.filetypes import sniff

MAX_BYTES = 1024 * 1024  # a prompt is a sentence or two, not a lecture


@dataclass(frozen=True)
class Prompt:
    body: bytes
    mime: str


PROMPTS = web.AppKey("spoken_prompts", dict)


def load(config: NodeConfig, data_root: Path) -> dict[tuple[str, str], Prompt]:
    """Every configured prompt, read and checked; `ConfigError` names the first bad one."""
    folder = config.spoken_prompts.directory
    if not folder.is_absolute():
        folder = data_root / folder
    out: dict[tuple[str, str], Prompt] = {}
    for lang, places in config.spoken_prompts.files.items():
        for place, name in places.items():
            path = folder / name
            where = f"node.toml: spoken_prompts.files.{lang}.{place}: {path}"
            try:
                body = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"{where}: cannot be read ({exc.strerror})") from None
            if len(body) > MAX_BYTES:
                raise ConfigError(f"{where}: larger than {MAX_BYTES // 1024} KiB")
            kind = sniff(body[:8192])
            if kind is None or kind.category != "audio":
                raise ConfigError(f"{where}: not a sound file")
            out[(lang, place)] = Prompt(body, kind.mime)
    return out


async def prompt_get(request: web.Request) -> web.StreamResponse:
    found = request.config_dict[PROMPTS].get(
        (request.match_info["lang"], request.match_info["place"]))
    if found is None:
        raise errors.NotFound()
    return web.Response(body=found.body, content_type=found.mime)

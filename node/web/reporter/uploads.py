"""Streaming multipart uploads into encrypted attachments.

Each file part is read in 64 KiB pieces, checked (type by content, size limits) and
encrypted as it arrives; a refused file is drained and reported by name while the others
are kept, so nothing the reporter already sent is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, MultipartReader

from crypto.keys import DataKey
from node import errors
from node.context import NodeContext, run_sync
from node.intake.attachments import Allowance, StagedFile

CHUNK = 64 * 1024


@dataclass
class UploadResult:
    staged: list[StagedFile] = field(default_factory=list)
    refused: list[errors.NodeError] = field(default_factory=list)


async def receive_file(ctx: NodeContext, part: BodyPartReader, key: DataKey,
                       allowance: Allowance, result: UploadResult, *,
                       audio_only: bool = False) -> None:
    """Stage one file part into `result` (or record why it was refused); `audio_only`
    for a voice recording."""
    filename = part.filename
    first = await part.read_chunk(CHUNK)
    if not filename and not first:
        return  # a file input left empty
    try:
        writer = ctx.intake.attachment_writer(key, allowance, filename, audio_only=audio_only)
    except errors.NodeError as exc:
        result.refused.append(exc)
        await _drain(part)
        return
    try:
        chunk = first
        while chunk:
            writer.feed(chunk)
            chunk = await part.read_chunk(CHUNK)
        result.staged.append(await run_sync(ctx, writer.finish))
    except errors.NodeError as exc:
        writer.abort()
        result.refused.append(exc)
        await _drain(part)
    except BaseException:
        writer.abort()
        raise


async def read_text_part(part: BodyPartReader, limit_chars: int) -> str:
    """A text field of a multipart form, refused if longer than the limit."""
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > limit_chars * 4 + 16:
            await _drain(part)
            raise errors.TextTooLong(field=part.name, limit=limit_chars)
    text = data.decode("utf-8", errors="replace")
    if len(text) > limit_chars:
        raise errors.TextTooLong(field=part.name, limit=limit_chars)
    return text.replace("\r\n", "\n")


async def next_field(reader: MultipartReader) -> BodyPartReader | None:
    """The next field of a flat multipart form (nested multipart bodies are refused)."""
    part = await reader.next()
    if part is None or isinstance(part, BodyPartReader):
        return part
    raise errors.InvalidInput()


async def first_field(reader: MultipartReader, name: str) -> BodyPartReader:
    """The first field, which must be `name` (the CSRF token, or a JSON part that says
    where the files that follow belong)."""
    part = await next_field(reader)
    if part is None or part.name != name:
        raise errors.InvalidInput(field=name)
    return part


async def _drain(part: BodyPartReader) -> None:
    while await part.read_chunk(CHUNK):
        pass

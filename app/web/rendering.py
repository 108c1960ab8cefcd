"""A message body as blocks for reading: own words shown, quotes folded with who wrote them,
signatures and list footers tucked away. Built on the same segmentation positions use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ingest.segments import segment_body


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    text: str
    depth: int
    lines: int
    author: str | None


@lru_cache(maxsize=8192)
def body_blocks(body: str) -> tuple[Block, ...]:
    """Blocks of a body. Cached by body text: thread pages show the same messages often."""
    blocks = []
    for segment in segment_body(body):
        text = segment.text.strip("\n")
        if not text.strip():
            continue
        blocks.append(
            Block(
                kind=segment.kind,
                text=text,
                depth=segment.depth,
                lines=text.count("\n") + 1,
                author=segment.quoted_author,
            )
        )
    return tuple(blocks)

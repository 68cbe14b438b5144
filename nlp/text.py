"""Text as callers' words reach the classifier: typed, transcribed, sometimes spelled out."""

from __future__ import annotations


def _single_cjk(piece: str) -> bool:
    return len(piece) == 1 and "\u4e00" <= piece <= "\u9fff"


def rejoin_spelled_out(text: str) -> str:
    """Undo a transcript that spaces every character ("那 个 井 盖 没 了") and its stutters
    ("电 电线", "倒 倒 了"): a lone character that starts the next piece is dropped, and runs
    of lone characters are joined. Pauses between words stay spaces."""
    if " " not in text:
        return text
    pieces = text.split(" ")
    kept = [
        piece
        for index, piece in enumerate(pieces)
        if not (
            _single_cjk(piece) and index + 1 < len(pieces) and pieces[index + 1].startswith(piece)
        )
    ]
    out: list[str] = []
    in_run = False
    for piece in kept:
        lone = _single_cjk(piece)
        if lone and in_run:
            out[-1] += piece
            continue
        out.append(piece)
        in_run = lone
    return " ".join(out)

"""jieba's accurate mode without HMM, the way the classifier cuts every text, with the
dictionary lookups done once per step instead of twice and no generators: the same words
from the same dictionary (tests/nlp/test_segment.py compares it with jieba on every
labelled text), in about half the time."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import jieba

# jieba's own patterns (jieba/__init__.py): runs it segments, whitespace it keeps whole.
HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
SKIP = re.compile("(\r\n|\\s)")
ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Segmenter:
    """Cuts text with a jieba tokenizer's dictionary as `tokenizer.lcut(text, HMM=False)`
    does, and sees words added to the tokenizer later."""

    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        tokenizer.check_initialized()
        self._tokenizer = tokenizer
        self._total = -1.0
        self._logtotal = 0.0

    def cut(self, text: str) -> list[str]:
        words: list[str] = []
        for block in HAN.split(text):
            if not block:
                continue
            if HAN.match(block):
                self._cut_block(block, words)
                continue
            for piece in SKIP.split(block):
                if SKIP.match(piece):
                    words.append(piece)
                else:
                    words.extend(piece)
        return words

    def _cut_block(self, block: str, words: list[str]) -> None:
        freq: Mapping[str, int] = self._tokenizer.FREQ
        total = self._tokenizer.total
        if total != self._total:
            self._total, self._logtotal = total, math.log(total)
        logtotal = self._logtotal
        log = math.log
        n = len(block)
        # Best route from each position (log probability, end of the first word), as
        # jieba's calc: the larger score, on a tie the longer word.
        scores = [0.0] * (n + 1)
        ends = [0] * (n + 1)
        for start in range(n - 1, -1, -1):
            best_score, best_end = 0.0, -1
            end = start
            fragment = block[start]
            while True:
                count = freq.get(fragment)
                if count is None:
                    break
                if count:
                    score = log(count) - logtotal + scores[end + 1]
                    if best_end < 0 or score >= best_score:
                        best_score, best_end = score, end
                end += 1
                if end >= n:
                    break
                fragment = block[start : end + 1]
            if best_end < 0:
                # Not a word of the dictionary: the character alone (its count is 0 or none).
                best_score = log(freq.get(block[start]) or 1) - logtotal + scores[start + 1]
                best_end = start
            scores[start], ends[start] = best_score, best_end
        buffer = ""
        position = 0
        while position < n:
            following = ends[position] + 1
            word = block[position:following]
            if following - position == 1 and word in ASCII_ALNUM:
                buffer += word
            else:
                if buffer:
                    words.append(buffer)
                    buffer = ""
                words.append(word)
            position = following
        if buffer:
            words.append(buffer)

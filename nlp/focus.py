"""Clause weights from spoken focus cues: what a caller denies or calls solved counts less,
what follows 是/这次 counts more ("不是垃圾的问题，是下水道堵了" is about the drain)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

DENIED = 0.2
SOLVED = 0.3
FOCUSED = 1.5

# Transcribed speech often has no punctuation, so these words also open a new clause.
LEADS = frozenset({"但是", "可是", "不过", "而是", "这次", "这回", "然后", "另外", "还有", "后来"})
FOCUS_FIRST = frozenset({"是", "而是", "这次", "这回"})
# "<word> 是" at the start of a clause: 现在是…, 主要是…, 问题是…
FOCUS_BEFORE_SHI = frozenset({"现在", "主要", "关键", "其实", "而", "但", "可", "问题", "真正"})
DENIALS = frozenset({"不是", "并非", "并不是", "不属于"})
SOLVING = frozenset(
    "解决 修好 处理好 弄好 清走 修复 搞定 处理 清理 清理掉 拆除 拆掉 "
    "管 好 换 修 清掉 装完 撤 补上 补好 盖上 盖好 填好 填上 填平 接好 锯走 拉走 运走 "
    "堵住 加固 恢复 关了 关掉 补 填 铺".split()
)
DONE_AFTER = frozenset({"了", "完"})
DONE_BEFORE = frozenset({"已经", "已", "早就", "早已"})
# "还没解决" is the opposite of solved; "修好了又坏了" is a fresh problem.
NOT_DONE = frozenset(
    {"没", "没有", "未", "还没", "还没有", "不", "没能", "尚未", "一直", "没人", "没有人", "无人"}
)
QUESTIONS = frozenset({"吗", "没有啊", "了没", "没"})
AGAIN = frozenset({"又", "还是", "再次", "又坏了"})
PAST = frozenset(
    {
        "上次",
        "上回",
        "之前",
        "以前",
        "原来",
        "前几天",
        "前两天",
        "前天",
        "昨天",
        "前段时间",
        "去年",
        "上个月",
        "上午",
        "早上",
        "刚刚",
        "上周",
        "上礼拜",
        "刚才",
    }
)


# Pure and asked of every token: the answers for the words seen most are kept.
@lru_cache(maxsize=16384)
def is_break(token: str) -> bool:
    """Punctuation and whitespace end a clause (enumerating 、 does not)."""
    return all(not char.isalnum() and char != "、" for char in token)


def split_clauses(tokens: Sequence[str]) -> list[list[str]]:
    """Tokens grouped into clauses; separators dropped."""
    return [clause for clause, _ in split_sentences(tokens)]


def split_sentences(tokens: Sequence[str]) -> list[tuple[list[str], int]]:
    """Clauses with the number of the sentence each belongs to. Punctuation ends a sentence;
    a space (a pause in transcribed speech) only ends a clause, so "井盖 整个不见了" is still
    one statement about the cover."""
    clauses: list[tuple[list[str], int]] = [([], 0)]
    sentence = 0
    for token in tokens:
        if is_break(token):
            if not token.isspace():
                sentence += 1
            clauses.append(([], sentence))
            continue
        if token in LEADS and clauses[-1][0]:
            clauses.append(([], sentence))
        clauses[-1][0].append(token)
    return [(clause, number) for clause, number in clauses if clause]


def is_focused(clause: Sequence[str]) -> bool:
    """The clause opens with 是/这次/而是 or "现在是" and the like."""
    if clause[0] in FOCUS_FIRST:
        return True
    return len(clause) > 1 and clause[0] in FOCUS_BEFORE_SHI and clause[1] == "是"


def is_solved(clause: Sequence[str]) -> bool:
    """The clause reports something done (修好了, 已经处理), not wished for or still open."""
    for index, token in enumerate(clause):
        if token not in SOLVING:
            continue
        before = clause[max(0, index - 3) : index]
        after = clause[index + 1 : index + 3]
        done = bool(DONE_AFTER.intersection(after) or DONE_BEFORE.intersection(before))
        # "现在处理了吗" asks; it does not report.
        done = done and not QUESTIONS.intersection(clause[index:])
        if done and not NOT_DONE.intersection(before) and not AGAIN.intersection(clause[index:]):
            return True
    return False


def weigh(tokens: Sequence[str]) -> list[list[tuple[str, float]]]:
    """Each clause as (token, weight) pairs; the weights carry the caller's focus."""
    return [pairs for pairs, _ in weigh_sentences(tokens)]


def weigh_sentences(tokens: Sequence[str]) -> list[tuple[list[tuple[str, float]], int]]:
    """Each clause as (token, weight) pairs with its sentence number."""
    numbered = split_sentences(tokens)
    clauses = [clause for clause, _ in numbered]
    solved = [is_solved(clause) for clause in clauses]
    weighed: list[tuple[list[tuple[str, float]], int]] = []
    for index, clause in enumerate(clauses):
        base = FOCUSED if is_focused(clause) else 1.0
        # "以前这里煤气味很重，后来修好了": the solved report covers the past clause before it.
        solved_next = index + 1 < len(clauses) and solved[index + 1]
        if solved[index] or (solved_next and PAST.intersection(clause)):
            base = SOLVED
        weight = base
        pairs = []
        for token in clause:
            if token in DENIALS:
                weight = base * DENIED
            elif token == "是" and weight < base:
                # "不是垃圾的问题是下水道堵了": the 是 after a denial names the real problem.
                weight = FOCUSED
            pairs.append((token, weight))
        weighed.append((pairs, numbered[index][1]))
    return weighed

"""Urgency as a model of the danger itself: a hazard object (cover, pole, sign, wall, tree,
cable, transformer, gas, bridge, embankment, road, water, signal) in a failure state
(missing, broken, tilted, cracked, collapsed, hanging, sparking, leaking, flooded …), and
for the states that are not dangerous on their own, an exposure or a consequence (people
passing, children, at night, someone already hurt, "any moment").

The failure is said of the clause's subject: "网线从电杆上掉下来" is about the network cable,
not the pole. What the caller denies, reports fixed or negates ("没有味道了") does not count;
a slight or long-standing state ("有点歪", "好多年了一直这样") needs more to be urgent.
Pure: the caller passes the weighted clauses of nlp.focus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from nlp.focus import PAST, is_solved
from nlp.hazards import DangerBook, HazardKind

# Clause weights below this (denied, solved) say nothing about a present danger.
PRESENT = 1.0
# An object said in a solved clause can still be what a later clause speaks of ("井盖以前丢过
# 后来补了 现在又丢了"); one the caller denies cannot ("不是网线 是电线").
MENTIONED = 0.25
# A clause that says the danger is over counts as solved.
RESOLVED_WEIGHT = 0.3
NEGATORS = frozenset(
    {
        "没",
        "没有",
        "不",
        "未",
        "并没有",
        "没什么",
        "无",
        "并不",
        "别",
        "不会",
        "不是",
        "还没",
        "还没有",
        "闻不到",
        "没闻到",
        "看不出",
        "听不到",
    }
)
FLOODED = "flooded"
STRONG = 2
CONDITIONAL = 1
# After an object, these make it a place ("电线杆上的电线", "垃圾站旁边那根电线杆").
LOCATIVES = frozenset(
    "上 里 边 旁 下 内 旁边 边上 附近 门口 对面 后面 前面 里面 上面 下面 底下 外面 上头 下头 "
    "这边 那边".split()
)
LOCATIVE_ENDINGS = ("上", "里", "边", "旁", "内")
# Before an object, these make it the agent of a passive ("被车撞歪了", "遭树枝挂到").
AGENTS = frozenset({"被", "遭", "让", "给", "叫"})
PREFIXES = ("往外", "已经", "被", "都", "还", "在", "又", "往", "已")
SUFFIXES = ("的", "了", "着", "得", "起", "啦")
ASKING = frozenset({"怎么办", "吗", "会不会"})
# Resultative compounds: an action and its result (压塌, 撞歪, 刮断, 冲垮) name the result.
ACTIONS = frozenset("压撞刮吹冲砸挖拉扯锈烧震泡踩挤碰撬砍锯拽扭掀蛀冻晒")
RESULTS = {
    "塌": "collapsed",
    "垮": "collapsed",
    "倒": "collapsed",
    "断": "broken",
    "碎": "broken",
    "烂": "broken",
    "坏": "broken",
    "裂": "cracked",
    "歪": "tilted",
    "斜": "tilted",
    "弯": "tilted",
    "翻": "displaced",
    "飞": "displaced",
    "掉": "hanging",
    "空": "collapsed",
    "破": "broken",
}

WeightedClause = tuple[list[tuple[str, float]], int]


@dataclass(frozen=True)
class Hazard:
    """Why a case is urgent: the object, its state and who is exposed."""

    kind: str
    reason: str
    object_word: str
    failure: str | None
    failure_word: str | None
    exposure: tuple[str, ...]
    # The directory category the danger model files this under, when its data says.
    category: str | None = None

    def words(self) -> tuple[str, ...]:
        found = [self.object_word] + ([self.failure_word] if self.failure_word else [])
        return tuple(found + list(self.exposure[:2]))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object": self.object_word,
            "failure": self.failure,
            "failure_word": self.failure_word,
            "exposure": list(self.exposure),
        }


class _Token(NamedTuple):
    """A token of the text with its clause weight (a tuple: one is made per token of every text)."""

    text: str
    weight: float
    clause: int
    sentence: int
    # Token positions where the clause starts and ends (inclusive).
    start: int = 0
    end: int = 0


class DangerModel:
    """Finds the most serious hazard a complaint describes, if any."""

    def __init__(self, book: DangerBook) -> None:
        self.book = book
        self._kinds: dict[str, list[HazardKind]] = {}
        self._alone: dict[str, HazardKind] = {}
        for kind in book.kinds:
            for word in kind.words:
                self._kinds.setdefault(word, []).append(kind)
            for word in kind.alone:
                self._alone.setdefault(word, kind)
        # A token longer than a known word still names it (污水井盖, 人行道上, 自来水主管).
        self._kinds_of = lru_cache(maxsize=8192)(self._find_kinds)
        self._failures_of = lru_cache(maxsize=8192)(self._find_failures)
        self._is_exposure = lru_cache(maxsize=8192)(self._find_exposure)
        # Longest first, then by text: the order must not depend on the process's hash seed.
        self._long_objects = sorted(
            (w for w in self._kinds if len(w) >= 2), key=lambda w: (-len(w), w)
        )
        self._long_exposure = sorted(w for w in book.exposure if len(w) >= 2)

    def _find_kinds(self, token: str) -> tuple[HazardKind, ...]:
        exact = self._kinds.get(token)
        if exact is not None:
            return tuple(exact)
        found: dict[str, HazardKind] = {}
        # Head-final compounds name their head: 一棵树, 高压线塔, 老桥.
        if len(token) > 1 and token[-1] in self.book.heads:
            for kind in self._kinds.get(token[-1], []):
                found.setdefault(kind.name, kind)
        if len(token) >= 3:
            for word in self._long_objects:
                if word in token:
                    for kind in self._kinds[word]:
                        found.setdefault(kind.name, kind)
        return tuple(found.values())

    def _find_failures(self, token: str) -> frozenset[str]:
        exact = self.book.failures.get(token)
        if exact is not None:
            return exact
        if len(token) == 2 and token[0] in ACTIONS and token[1] in RESULTS:
            return frozenset({RESULTS[token[1]]})
        # A particle stuck to a state word by the tokenizer ("嘶嘶的", "被撬开", "往外冒烟").
        bare = token
        for prefix in PREFIXES:
            if bare.startswith(prefix) and len(bare) > len(prefix):
                bare = bare[len(prefix) :]
                break
        for suffix in SUFFIXES:
            if bare.endswith(suffix) and len(bare) > len(suffix):
                bare = bare[: -len(suffix)]
                break
        return self.book.failures.get(bare, frozenset()) if bare != token else frozenset()

    def _find_exposure(self, token: str) -> bool:
        if token in self.book.exposure:
            return True
        return len(token) >= 3 and any(word in token for word in self._long_exposure)

    def assess(self, clauses: Sequence[WeightedClause]) -> Hazard | None:
        """The hazard that makes the case urgent, or None."""
        book = self.book
        tokens = self._present(clauses)
        if not tokens:
            return None
        said = {t.text for t in tokens if t.weight >= PRESENT}
        if said & book.harmless:
            return None
        exposure = [t.text for t in tokens if t.weight >= PRESENT and self._is_exposure(t.text)]
        # Long-standing or small: one level less, except for kinds where any sign is urgent.
        damped = int(bool(said & book.stable)) + int(bool(said & book.minor))
        best: tuple[int, Hazard] | None = None
        for index, token in enumerate(tokens):
            if token.weight < PRESENT:
                continue
            alone = self._alone.get(token.text)
            failures = self._failures_of(token.text)
            # Only a danger word can be negated into nothing; the rest need no look around.
            if (alone is None and not failures) or self._negated(tokens, index):
                continue
            if alone is not None:
                level = STRONG - (0 if alone.firm else damped)
                found = Hazard(
                    alone.name,
                    alone.reason,
                    token.text,
                    None,
                    None,
                    tuple(exposure),
                    alone.category(None),
                )
                best = _better(best, level, found)
            if not failures:
                continue
            subject = self._subject(tokens, index, failures)
            if subject is None:
                continue
            slight = any(t.text in book.slight for t in tokens[max(0, index - 2) : index])
            object_word = self._referent(tokens, subject)
            for kind in self._kinds_of(object_word):
                if failures & kind.strong:
                    level, failure = STRONG, sorted(failures & kind.strong)[0]
                elif failures & kind.conditional:
                    level, failure = CONDITIONAL, sorted(failures & kind.conditional)[0]
                else:
                    continue
                if not kind.firm:
                    level -= int(slight) + damped
                seen = tuple(dict.fromkeys(w for w in exposure if w != object_word))
                if level == CONDITIONAL and not seen:
                    continue
                found = Hazard(
                    kind.name,
                    kind.reason,
                    object_word,
                    failure,
                    token.text,
                    seen,
                    kind.category(failure),
                )
                best = _better(best, level, found)
        return None if best is None else best[1]

    def sees_hazard_object(self, clauses: Sequence[WeightedClause]) -> bool:
        """Whether the text names a hazard object at all (in a clause not denied or solved):
        then the danger model has judged its state, and a learned guess needs more."""
        return any(
            weight >= PRESENT and any(kind.hazard for kind in self._kinds_of(token))
            for pairs, _ in clauses
            for token, weight in pairs
        )

    def _present(self, clauses: Sequence[WeightedClause]) -> list[_Token]:
        """The clauses' tokens with their weights; a clause that says the danger is over, or a
        past one followed by a fix ("前两天井盖塌了 … 已经用铁板盖上了"), counts as solved."""
        words = [[token for token, _ in pairs] for pairs, _ in clauses]
        over = [
            is_solved(clause)
            or bool(self.book.resolved.intersection(clause))
            or self._no_longer(clause)
            for clause in words
        ]
        tokens: list[_Token] = []
        for number, (pairs, sentence) in enumerate(clauses):
            resolved = any(token in self.book.resolved for token in words[number]) or (
                bool(PAST.intersection(words[number])) and any(over[number + 1 :])
            )
            start, end = len(tokens), len(tokens) + len(pairs) - 1
            for token, weight in pairs:
                present = min(weight, RESOLVED_WEIGHT) if resolved else weight
                tokens.append(_Token(token, present, number, sentence, start, end))
        return tokens

    def _no_longer(self, clause: Sequence[str]) -> bool:
        """The state has ended: "没有味道了", "不冒烟了"."""
        if not clause or clause[-1] != "了":
            return False
        return any(
            token in NEGATORS and any(self._failures_of(t) for t in clause[i + 1 : i + 3])
            for i, token in enumerate(clause)
        )

    def _negated(self, tokens: Sequence[_Token], index: int) -> bool:
        """Negated ("没有味道了") or only feared ("担心大车压碎", "是不是漏气了")."""
        here = tokens[index]
        start, end = here.start, here.end
        before = tokens[max(start, index - self.book.negation_reach) : index]
        if any(t.text in NEGATORS for t in before):
            return True
        if any(t.text in self.book.hypothetical for t in tokens[start:index]):
            return True
        # "哪天倒了怎么办" asks what if.
        return any(t.text in ASKING for t in tokens[index + 1 : end + 1])

    def _is_object(self, tokens: Sequence[_Token], index: int, places: bool = False) -> bool:
        """A hazard object here, not a place named to locate another ("电线杆上的电线") nor
        the agent of a passive ("被垃圾车撞歪了"). With `places`, a place is an object too:
        what floods is the place ("隧道里水已经漫上来了")."""
        token = tokens[index]
        if token.weight < MENTIONED or not self._kinds_of(token.text):
            return False
        if places:
            return True
        if len(token.text) >= 3 and token.text.endswith(LOCATIVE_ENDINGS):
            return False
        clause = token.clause
        after, before = index + 1, index - 1
        if after < len(tokens) and tokens[after].clause == clause:
            if tokens[after].text in LOCATIVES:
                return False
        return not (
            before >= 0 and tokens[before].clause == clause and tokens[before].text in AGENTS
        )

    def _referent(self, tokens: Sequence[_Token], index: int) -> str:
        """A bare head ("线", "新线", "杆子") means the last specific word with that head in
        the sentence: "网线 … 拉了好多新线 … 有一根垂下来" is still a network cable."""
        text = tokens[index].text
        head = text[-1]
        if head not in self.book.heads or (text in self._kinds and len(text) > 1):
            return text
        for i in range(index - 1, -1, -1):
            if tokens[i].sentence != tokens[index].sentence:
                break
            other = tokens[i].text
            if len(other) > 1 and other[-1] == head and other in self._kinds:
                return other
        return text

    def _strength(self, tokens: Sequence[_Token], index: int, failures: frozenset[str]) -> int:
        kinds = self._kinds_of(self._referent(tokens, index))
        return max((int(bool(failures & kind.strong)) for kind in kinds), default=0)

    def _accepts(self, word: str, failures: frozenset[str]) -> bool:
        return any(failures & (kind.strong | kind.conditional) for kind in self._kinds_of(word))

    def _absorbs(self, word: str) -> bool:
        return any(not kind.hazard for kind in self._kinds_of(word))

    def _subject(
        self, tokens: Sequence[_Token], index: int, failures: frozenset[str]
    ) -> int | None:
        """The object a failure word is said of. In its clause, the nearest object before it
        is the subject. A clause without one continues the subject of the clause before
        (Chinese often leaves it unsaid), and the failure goes to the nearest object that
        can be in that state. A subject that is no hazard at all (a network cable) takes the
        failure with it: "网线从电杆上掉下来" is not about the pole."""
        here = tokens[index]
        start = here.start
        places = FLOODED in failures
        own = [i for i in range(start, index) if self._is_object(tokens, i, places)]
        if own:
            if self._absorbs(self._referent(tokens, own[-1])):
                return None
            # Of the clause's objects that can be in this state, the one it is most dangerous
            # for ("隧道里水漫上来了" is about the underpass, not the water), else the nearest.
            able = [i for i in own if self._accepts(self._referent(tokens, i), failures)]
            if not able:
                return None
            return max(able, key=lambda i: (self._strength(tokens, i, failures), i))
        lowest = max(0, index - self.book.window)
        topic = self._topic(tokens, start, lowest, places)
        if topic is not None and self._absorbs(self._referent(tokens, topic)):
            return None
        highest = min(len(tokens), index + self.book.window + 1)
        nearby = [i for i in range(index - 1, lowest - 1, -1)] + list(range(index + 1, highest))
        for i in nearby:
            if tokens[i].sentence != here.sentence or not self._is_object(tokens, i, places):
                continue
            if self._accepts(self._referent(tokens, i), failures):
                return i
        return None

    def _topic(self, tokens: Sequence[_Token], start: int, lowest: int, places: bool) -> int | None:
        """The subject of the nearest earlier clause of the sentence that names an object."""
        sentence = tokens[start].sentence
        i = start - 1
        while i >= lowest and tokens[i].sentence == sentence:
            clause = tokens[i].clause
            found = None
            while i >= 0 and tokens[i].clause == clause:
                if found is None and self._is_object(tokens, i, places):
                    found = i
                i -= 1
            if found is not None:
                return found
        return None


def _better(
    best: tuple[int, Hazard] | None, level: int, found: Hazard
) -> tuple[int, Hazard] | None:
    """Keep the most serious urgent finding; a conditional one needs an exposure."""
    urgent = level >= STRONG or (level == CONDITIONAL and bool(found.exposure))
    if not urgent:
        return best
    if best is None or level > best[0]:
        return (level, found)
    return best

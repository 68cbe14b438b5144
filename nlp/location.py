"""Places named in a complaint: roads, intersections, communities and landmarks, to fill the
ticket's address field. Pure text patterns over the normalised text; no gazetteer is needed,
because Chinese place names end in a small set of words (路, 小区, 广场 …)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class PlaceKind(Enum):
    DISTRICT = "district"
    INTERSECTION = "intersection"
    ROAD = "road"
    COMMUNITY = "community"
    LANDMARK = "landmark"


@dataclass(frozen=True)
class Place:
    kind: PlaceKind
    text: str
    start: int


@dataclass(frozen=True)
class Location:
    """The address to propose (places in the order spoken) and the places themselves."""

    address: str
    places: tuple[Place, ...]

    def to_json_dict(self) -> dict[str, object]:
        return {
            "address": self.address,
            "places": [{"kind": place.kind.value, "text": place.text} for place in self.places],
        }


# Characters that end a name when read backwards from its suffix: function words, pronouns,
# verbs of motion and position ("我家楼下幸福小区" names 幸福小区, not 我家楼下幸福小区).
_STOP = (
    "的在是了我你他她它这那个有就到从往说跟及或把被给向对于上下外去来也都很还又吗呢吧啊呀嘛哦嗯"
    "住近边旁咱们楼附前后面"
    "，。、；：！？,.;:!?（）()“”\"' \t\r\n"
)
_NAME = rf"[^{re.escape(_STOP)}]"
ROAD_SUFFIX = r"(?:大道|大街|路|街|巷|胡同|弄|国道|省道)"
_ROAD = rf"{_NAME}{{1,8}}?{ROAD_SUFFIX}(?:[东西南北中]{{1,2}}段|[一二三四五六七八九十\d]+段)?"
_CORNER = r"(?:交叉口|交叉路口|十字路口|丁字路口|交汇处|交口|路口|口)"
_DIRECTION = (
    r"(?:[东西南北]{1,2}(?:门|侧|角|边|面)|门口|大门口?|旁边|对面|附近|后面|前面|里面|入口|出口)"
)
_COMMUNITY_SUFFIX = r"(?:小区|花园|花苑|家园|新村|新城|社区|公寓|大院|嘉园|雅苑|名苑|苑|村)"
_LANDMARK_SUFFIX = (
    r"(?:广场|公园|农贸市场|菜市场|菜场|市场|医院|小学|中学|学校|大学|幼儿园|地铁站|公交站|"
    r"火车站|汽车站|车站|商场|超市|大厦|大楼|桥|酒店|宾馆|银行|加油站|体育馆|图书馆|步行街|"
    r"商业街|夜市|派出所|政府|中心)"
)
_BUILDING = r"(?:[\d一二三四五六七八九十]+(?:号楼|栋|幢|单元|号院|号))*"

PATTERNS: tuple[tuple[PlaceKind, re.Pattern[str]], ...] = (
    (PlaceKind.DISTRICT, re.compile(rf"{_NAME}{{1,4}}?(?:(?<![小社园景城辖校厂])区|县|镇|街道)")),
    (
        PlaceKind.INTERSECTION,
        re.compile(rf"{_ROAD}(?:与|和|跟|、|/)?{_ROAD}{_CORNER}"),
    ),
    (PlaceKind.ROAD, re.compile(rf"{_ROAD}(?:[\d]+号|{_DIRECTION}|{_CORNER})?")),
    (
        PlaceKind.COMMUNITY,
        re.compile(
            rf"{_NAME}{{2,8}}{_COMMUNITY_SUFFIX}{_LANDMARK_SUFFIX}?{_BUILDING}{_DIRECTION}?"
        ),
    ),
    (PlaceKind.LANDMARK, re.compile(rf"{_NAME}{{2,8}}{_LANDMARK_SUFFIX}{_DIRECTION}?")),
)

# Words that end like a place but name none ("马路上有个坑", "人行道破了", "下水道").
NOT_PLACES = frozenset(
    """马路 大马路 小马路 公路 道路 小路 大路 路面 路边 路灯 路口 走路 上路 一路 这条路 那条路
    沿街 上街 街道 大街 临街 满街 一条街 整条街 街边 小巷 胡同 下水道 人行道 车道 盲道 通道 过道
    知道 管道 隧道 步道 绿道 车站 中心 社区 农村 乡村 村 公园 市场 学校 医院 银行 超市 商场 政府
    广场 小区 花园 新村 大院 公寓 桥 天桥 大桥 地区 小区里 城区 市区 景区 园区 辖区 社区里
    老小区 这个小区 我们小区 那个小区 整个小区""".split()
)
# Words that can run into a name because none of their characters stops it.
LEADING = re.compile(
    "(?:反映|投诉|举报|位于|就是|就在|路过|经过|发现|看到|看见|今天|昨天|前天|晚上|早上|中午|"
    "下午|凌晨|半夜|现在|一直|每天|天天|经常|那边|这边|那里|这里|靠近|紧挨|对面|隔壁|旁边|"
    "报|喂|嗯|呃|那|这)+"
)
# A place name must hold at least this many characters before its suffix.
MIN_NAME = 2
# Door, side, corner and house number after a place's name (幸福小区3号楼东门 → 幸福小区).
_TRAILING = re.compile(
    rf"(?:{_DIRECTION}|{_CORNER}|[\d一二三四五六七八九十]+(?:号楼|栋|幢|单元|号院|号))+$"
)


def place_name(text: str) -> str:
    """The place itself, without door, side, corner or house number."""
    return _TRAILING.sub("", text)


def _plausible(kind: PlaceKind, text: str) -> bool:
    core = text
    if kind is not PlaceKind.DISTRICT:
        core = re.sub(rf"(?:{_DIRECTION}|{_CORNER})$", "", text)
    if core in NOT_PLACES or text in NOT_PLACES:
        return False
    # "路灯不亮" or "这条路" are not roads; a road name needs two characters before 路.
    return len(core) >= MIN_NAME + (0 if kind is PlaceKind.DISTRICT else 1)


def _trimmed(start: int, text: str) -> tuple[int, str]:
    """Without a leading verb or time word the name swallowed ("路过长江路" is 长江路)."""
    match = LEADING.match(text)
    if match is None or match.end() >= len(text) - 1:
        return start, text
    return start + match.end(), text[match.end() :]


def extract_places(text: str) -> tuple[Place, ...]:
    """Places in the order they occur; a place inside a longer one (a road inside an
    intersection) is dropped."""
    found: list[Place] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS:
        position = 0
        while (match := pattern.search(text, position)) is not None:
            start, end = match.span()
            clash = [e for s, e in taken if start < e and s < end]
            if clash:
                # Look again after what is taken: 朝阳区建设大街 is 朝阳区 then 建设大街.
                position = max(start + 1, min(clash))
                continue
            position = end
            start, place = _trimmed(start, match.group())
            if _plausible(kind, place):
                found.append(Place(kind, place, start))
                taken.append((start, end))
    return tuple(sorted(found, key=lambda place: place.start))


def extract_location(text: str) -> Location | None:
    """The places of a complaint and the address they make, or None if it names none."""
    places = extract_places(text)
    if not places:
        return None
    address = ""
    for index, place in enumerate(places):
        if place.text in address:
            continue
        # 朝阳区建设大街88号 is one address; other places are listed apart.
        joined = index > 0 and places[index - 1].kind is PlaceKind.DISTRICT
        address += place.text if joined or not address else " " + place.text
    return Location(address, places)

"""The rules classifier on realistic complaints (texts written before the rules were tuned)."""

from __future__ import annotations

import json

import pytest

from nlp import Classifier, classify_lines


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


CASES = [
    # short agent summaries
    ("人民路小区门口垃圾桶满溢，三天没人清运", "SANITATION"),
    ("公厕堵塞无人打扫，臭味很大", "SANITATION"),
    ("马路中间有只死狗", "SANITATION"),
    ("有人在空地焚烧垃圾", "SANITATION"),
    ("夜市摊贩占道经营", "ENFORCEMENT"),
    ("商铺出店经营，桌子摆到人行道上", "ENFORCEMENT"),
    ("楼下烧烤油烟太大", "ENFORCEMENT"),
    ("广场舞音响声音太大扰民", "ENFORCEMENT"),
    ("电线杆上贴满小广告", "ENFORCEMENT"),
    ("楼顶私搭乱建", "ENFORCEMENT"),
    ("工地夜间施工噪音", "ENFORCEMENT"),
    ("渣土车沿路撒漏", "ENFORCEMENT"),
    ("井盖缺失", "MUNICIPAL"),
    ("路灯不亮", "MUNICIPAL"),
    ("人行道地砖松动破损", "MUNICIPAL"),
    ("雨后路面积水严重", "MUNICIPAL"),
    ("行道树枝遮挡路灯", "LANDSCAPE"),
    ("有人砍伐绿化带的树", "LANDSCAPE"),
    ("绿地被占用停车毁绿", "LANDSCAPE"),
    ("路口红绿灯不亮", "TRAFFIC"),
    ("小区门口违停堵住消防通道", "TRAFFIC"),
    ("停水两天了", "WATER"),
    ("消防栓漏水", "WATER"),
    ("楼道里有很重的煤气味", "GAS"),
    ("燃气调压箱在响", "GAS"),
    ("电线杆倾斜快倒了", "POWER"),
    ("小区变压器冒火花", "POWER"),
    ("通信光缆掉下来挂在路上", "TELECOM"),
    ("工厂晚上偷排废气，味道刺鼻", "ECOLOGY"),
    ("河道里漂浮物很多，河水发黑发臭", "WATER_AFFAIRS"),
    ("公司拖欠工资三个月", "TRANSFER_12345"),
    ("孩子上学报名的问题", "TRANSFER_12345"),
    # long spoken complaints
    (
        "喂，你好，我想反映一下，就是我们小区门口那个垃圾站啊，垃圾都堆到外面来了，"
        "好几天都没有人来收，天气又热，苍蝇蚊子特别多，麻烦你们赶紧派人来处理一下",
        "SANITATION",
    ),
    (
        "我跟你说啊，我家楼下每天晚上都有人摆地摊卖东西，一直搞到半夜，把路都堵了，"
        "推着婴儿车都过不去，你们城管能不能管一管",
        "ENFORCEMENT",
    ),
    (
        "就是那个建设路和解放路交叉口那里，有个井盖不见了，晚上黑灯瞎火的，"
        "刚才还有个骑电动车的差点摔进去，太危险了",
        "MUNICIPAL",
    ),
    ("我们这条街的路灯已经坏了一个多礼拜了，晚上走路黑灯瞎火的，老人小孩都不敢出门", "MUNICIPAL"),
    (
        "师傅你好，昨天刮大风，我们小区外面那棵大树倒了，树枝压在人行道上，"
        "现在还没人来清理，行人都得绕到马路上走",
        "LANDSCAPE",
    ),
    (
        "我要投诉，我们单元门口天天有小轿车乱停车，把消防通道全部堵死了，万一着火了消防车都进不来",
        "TRAFFIC",
    ),
    (
        "你好，我们这片从早上开始就停水了，也没有发通知，家里老人孩子都没水用，"
        "问了物业说不知道，到底什么时候来水",
        "WATER",
    ),
    ("我刚下班回家，一进楼道就闻到一股很浓的煤气味，不知道是哪家漏气了，我有点害怕", "GAS"),
    ("我们这边有根电线掉下来了，垂到离地面很低的地方，下雨天怕漏电，小孩子在旁边玩", "POWER"),
    ("小区附近有个化工厂，每天晚上都往外排废气，刺鼻得很，窗户都不敢开", "ECOLOGY"),
    ("我家门口那条河，河面上全是垃圾漂浮物，水也发黑发臭，夏天味道特别大", "WATER_AFFAIRS"),
    ("我在一个工地上干活，老板欠了我们工人半年的工资不给，我们找谁都没用", "TRANSFER_12345"),
]


@pytest.mark.parametrize("text, department", CASES)
def test_top_department(classifier: Classifier, text: str, department: str) -> None:
    result = classifier.classify(text)
    assert result.departments[0].code == department, (text, result.departments, result.matched)


def test_every_department_is_covered_by_the_cases() -> None:
    assert {department for _, department in CASES} == {
        "SANITATION",
        "ENFORCEMENT",
        "MUNICIPAL",
        "LANDSCAPE",
        "TRAFFIC",
        "WATER",
        "GAS",
        "POWER",
        "TELECOM",
        "ECOLOGY",
        "WATER_AFFAIRS",
        "TRANSFER_12345",
    }


@pytest.mark.parametrize(
    "text, department",
    [
        ("不是垃圾的问题，是下水道堵了", "MUNICIPAL"),
        ("上次的占道问题解决了，这次是路灯坏了", "MUNICIPAL"),
    ],
)
def test_focus_on_what_the_caller_means_now(
    classifier: Classifier, text: str, department: str
) -> None:
    assert classifier.classify(text).departments[0].code == department


@pytest.mark.parametrize(
    "text, code",
    [
        ("路口的井盖不见了", "01023"),
        ("路灯不亮", "01037"),
        ("夜市摊贩占道经营", "09006"),
        ("楼下烧烤油烟太大", "06027"),
    ],
)
def test_category(classifier: Classifier, text: str, code: str) -> None:
    result = classifier.classify(text)
    assert result.category is not None and result.category.code == code, result


@pytest.mark.parametrize(
    "text, urgent",
    [
        ("楼道里有很重的煤气味", True),
        ("路口的井盖不见了，晚上有人差点掉下去", True),
        ("前面路面塌陷了一个大坑", True),
        ("路口红绿灯不亮，车都乱了", True),
        ("大树倒在路上了", True),
        ("垃圾桶满了", False),
        ("楼下烧烤油烟太大", False),
        ("以前这里煤气味很重，后来修好了，现在是垃圾没人收", False),
    ],
)
def test_urgency(classifier: Classifier, text: str, urgent: bool) -> None:
    result = classifier.classify(text)
    assert result.urgent is urgent, result
    assert (result.urgent_reason is not None) is urgent


def test_json_lines_contract(classifier: Classifier) -> None:
    lines = list(classify_lines(["井盖缺失", "", "随便说点什么"], classifier))
    assert len(lines) == 3
    for line in lines:
        body = json.loads(line)
        assert len(body["departments"]) == 3
        assert set(body["departments"][0]) == {"code", "score"}
        assert body["category"] is None or set(body["category"]) == {"code", "name"}
        assert isinstance(body["urgent"], bool)
        scores = [d["score"] for d in body["departments"]]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert json.loads(lines[0])["departments"][0]["code"] == "MUNICIPAL"

"""Urgency as a model of the danger: object × failure state × exposure, with the negations,
fixes, fears and small or long-standing states that make a look-alike routine."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from nlp import Classifier
from nlp.hazards import load_danger, parse_danger


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


def kind_of(classifier: Classifier, text: str) -> str | None:
    hazard = classifier.classify(text).hazard
    return None if hazard is None else hazard.kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # dangerous on their own: a missing cover, a leak, sparks, a burst main
        ("光华大道与文化路口井盖不见了 留下一个黑洞", "cover"),
        ("单元楼道里燃气味很重 好几户都闻到了", "gas"),
        ("变压器在冒烟 还有噼里啪啦的声音", "transformer"),
        ("人行道下面的自来水管爆了 水往外喷了一米多高", "water"),
        ("十字路口的红绿灯全灭了", "signal"),
        ("府河边上的河堤塌了一段", "embankment"),
        ("下穿隧道积水淹车了", "water"),
        ("下穿通道里的水已经漫上来了 有辆车停在里面", "underpass"),
        # dangerous with someone or something exposed
        ("路灯杆被车撞歪了 斜在人行道上方", "pole"),
        ("楼顶广告牌的铁架子锈了 一刮风就摇 下面就是公交站", "sign"),
        ("大风把行道树刮倒了 横在机动车道上", "tree"),
        ("一根电线从电线杆上断下来 耷拉在马路中间 还在冒火星", "cable"),
        ("山坡边的挡土墙裂了一条缝 墙脚已经有石头滚下来", "wall"),
        ("人行天桥的台阶断了一块 水泥渣往下掉 下面就是马路", "bridge"),
        ("学校门口的雨水箅子被撬走了两个", "grate"),
        ("青年路中间塌下去一个大坑 车都在绕", "road"),
        # spoken, the danger implied, the subject said once
        (
            "嗯 就是我们小区外面那排梧桐树 有一棵根都翘起来了 整棵树往马路那边斜 "
            "越来越斜了 底下天天停车",
            "tree",
        ),
        ("那个 井盖 整个不见了 晚上车来车往的", "cover"),
        # a transcript spelled out character by character, stutters and all
        ("那 个 树 树 倒 了 倒 在 马 路 上 车 过 不 去 了", "tree"),
        # a faint smell of gas is still a leak
        ("楼下燃气管道那里闻到一点点味道 不是很重", "gas"),
    ],
)
def test_hazards_are_found(classifier: Classifier, text: str, kind: str) -> None:
    result = classifier.classify(text)
    assert result.urgent
    assert kind_of(classifier, text) == kind
    assert result.urgent_reason == result.hazard.reason if result.hazard else False


@pytest.mark.parametrize(
    "text",
    [
        # a network cable on the pavement is a trip hazard, not an urgent one; the failure is
        # said of the cable, not of the pole it hangs from
        "网线从电杆上掉下来 耷拉在人行道上 走路要跨过去",
        # in place but noisy, sunk, slight, old
        "小区门口的井盖一踩就哐当哐当响",
        "井盖周边的路面沉下去一圈 开车过去颠一下",
        "电线杆有点歪 好多年了一直这样",
        "小区外面那段挡土墙有些旧裂缝 去年就有 这一年也没见变化",
        "路口红绿灯有个灯泡不亮 不影响通行",
        # negated, denied, fixed, feared
        "之前闻到的煤气味是邻居家灶没关好 现在已经关了 没有味道了",
        "我说的不是漏气 是燃气公司收费的事",
        "上次反映的井盖丢了的问题 今天看到已经补上新盖子了 谢谢",
        "阀门井的盖子有点裂 不过还能用 就是担心大车压碎",
        # nothing broken at all
        "建设北路路灯一整排都不亮",
        "小区垃圾桶满了 溢出来一地",
    ],
)
def test_look_alikes_are_routine(classifier: Classifier, text: str) -> None:
    assert not classifier.classify(text).urgent


def test_the_hazard_explains_itself_in_the_json(classifier: Classifier) -> None:
    body = classifier.classify("那根电线断了 掉在马路上 还在冒火花").to_json_dict()
    assert body["hazard"]["kind"] == "cable"
    assert body["hazard"]["object"] == "电线"
    assert body["hazard"]["failure"] in {"sparking", "exposed"}
    reason = next(r for r in body["reasons"] if r["kind"] == "urgent")
    assert reason["target"] == body["urgent_reason"]
    assert "电线" in reason["words"]


def test_a_city_replaces_the_danger_model(tmp_path: Path) -> None:
    (tmp_path / "danger.toml").write_text(
        "[failures]\nbroken = ['坏了']\n"
        "[objects.swing]\nreason = '秋千损坏'\nwords = ['秋千']\nstrong = ['broken']\n",
        encoding="utf-8",
    )
    city = Classifier.from_directory(resources.files("nlp").joinpath("data"), tmp_path)
    assert city.classify("公园的秋千坏了").urgent_reason == "秋千损坏"
    # Its danger model knows no covers (a learned head may still guess, without a hazard).
    assert city.classify("光华大道井盖不见了").hazard is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"objects": {"x": {"words": "井盖"}}}, "objects.x.words"),
        ({"objects": {"x": {"words": ["井盖"], "strong": ["melted"]}}}, "unknown failures"),
        ({"failures": {"missing": [""]}}, "failures.missing"),
    ],
)
def test_a_broken_danger_file_is_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_danger(document)


def test_the_shipped_danger_file_covers_every_hazard_kind_of_the_issue() -> None:
    text = resources.files("nlp").joinpath("data", "danger.toml").read_text(encoding="utf-8")
    kinds = {kind.name for kind in load_danger(text).kinds if kind.hazard}
    assert {
        "sign",
        "cover",
        "pole",
        "wall",
        "tree",
        "cable",
        "transformer",
        "gas",
        "bridge",
        "embankment",
        "road",
        "water",
    } <= kinds

"""The rules classifier on realistic complaints (texts written before the rules were tuned)."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from importlib import resources

import pytest

from nlp import Category, Classification, Classifier, DepartmentScore, classify_lines

ALL_DEPARTMENTS = {
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


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


CASES = [
    # short agent summaries
    ("人民路小区门口垃圾桶满溢，三天没人清运", "SANITATION"),
    ("公厕堵塞无人打扫，臭味很大", "SANITATION"),
    ("马路中间有只死狗", "SANITATION"),
    ("有人在空地焚烧垃圾", "SANITATION"),
    ("人民路人行道上很脏，到处是烟头和纸屑，好几天没人扫了", "SANITATION"),
    ("小区垃圾分类投放点的垃圾混在一起倒，从来不分", "SANITATION"),
    ("夜市摊贩占道经营", "ENFORCEMENT"),
    ("商铺出店经营，桌子摆到人行道上", "ENFORCEMENT"),
    ("楼下烧烤油烟太大", "ENFORCEMENT"),
    ("广场舞音响声音太大扰民", "ENFORCEMENT"),
    ("电线杆上贴满小广告", "ENFORCEMENT"),
    ("楼顶私搭乱建", "ENFORCEMENT"),
    ("工地夜间施工噪音", "ENFORCEMENT"),
    ("渣土车沿路撒漏", "ENFORCEMENT"),
    ("地铁站出口共享单车乱停乱放，人都走不过去", "ENFORCEMENT"),
    ("沿街商铺在门口晾晒衣服被子", "ENFORCEMENT"),
    ("有人在绿化带旁边搭了一个铁皮棚子，属于私搭乱建", "ENFORCEMENT"),
    ("学校门口有流动小贩推三轮车卖烤肠", "ENFORCEMENT"),
    ("井盖缺失", "MUNICIPAL"),
    ("路灯不亮", "MUNICIPAL"),
    ("人行道地砖松动破损", "MUNICIPAL"),
    ("雨后路面积水严重", "MUNICIPAL"),
    ("小区门口下水道堵了，污水漫到路面上", "MUNICIPAL"),
    ("盲道上的砖坏了好几块", "MUNICIPAL"),
    ("路边的雨水箅子被人偷走了", "MUNICIPAL"),
    ("行道树枝遮挡路灯", "LANDSCAPE"),
    ("有人砍伐绿化带的树", "LANDSCAPE"),
    ("绿地被占用停车毁绿", "LANDSCAPE"),
    ("路边的树长虫了，毛毛虫掉得到处都是", "LANDSCAPE"),
    ("公园里的长椅坏了，木板断了两根", "LANDSCAPE"),
    ("路口红绿灯不亮", "TRAFFIC"),
    ("小区门口违停堵住消防通道", "TRAFFIC"),
    ("马路上的斑马线都磨没了，看不清楚", "TRAFFIC"),
    ("学校门口的减速带坏了，翘起来一块", "TRAFFIC"),
    ("停水两天了", "WATER"),
    ("消防栓漏水", "WATER"),
    ("家里的自来水发黄，有一股怪味", "WATER"),
    ("楼道里有很重的煤气味", "GAS"),
    ("燃气调压箱在响", "GAS"),
    ("电线杆倾斜快倒了", "POWER"),
    ("小区变压器冒火花", "POWER"),
    ("小区旁边的变压器嗡嗡响，晚上声音特别大", "POWER"),
    ("通信光缆掉下来挂在路上", "TELECOM"),
    ("移动公司的通信井盖破了一个角", "TELECOM"),
    ("路边的联通交接箱门被撬开了，里面的线都露在外面", "TELECOM"),
    ("工厂晚上偷排废气，味道刺鼻", "ECOLOGY"),
    ("有个工厂往河里偷排污水，河水都变黑了", "ECOLOGY"),
    ("旁边厂子的机器昼夜不停，工业噪声特别大", "ECOLOGY"),
    ("河道里漂浮物很多，河水发黑发臭", "WATER_AFFAIRS"),
    ("河堤有一段塌了，护坡的石头掉到河里了", "WATER_AFFAIRS"),
    ("下雨天排水泵站好像没开", "WATER_AFFAIRS"),
    ("公司拖欠工资三个月", "TRANSFER_12345"),
    ("孩子上学报名的问题", "TRANSFER_12345"),
    ("医院排队挂号太难了，能不能管管", "TRANSFER_12345"),
    ("社保断缴了怎么补交", "TRANSFER_12345"),
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
        "我们楼下那个烧烤店，每天晚上都把桌子摆到外面来，搞到凌晨两三点，"
        "又吵油烟又大，我家窗户都不敢开，投诉了好多次了",
        "ENFORCEMENT",
    ),
    (
        "就是那个建设路和解放路交叉口那里，有个井盖不见了，晚上黑灯瞎火的，"
        "刚才还有个骑电动车的差点摔进去，太危险了",
        "MUNICIPAL",
    ),
    ("我们这条街的路灯已经坏了一个多礼拜了，晚上走路黑灯瞎火的，老人小孩都不敢出门", "MUNICIPAL"),
    (
        "喂你好我要反映个情况我们小区后门那个路口路灯坏了好几天了晚上黑灯瞎火的"
        "老人小孩出门都不方便麻烦你们派人修一下",
        "MUNICIPAL",
    ),
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
    (
        "喂，你好，我刚下楼的时候闻到我们单元门口那个燃气管子那里有很大的味道，"
        "像是天然气泄漏了，你们赶紧派人来看一下吧",
        "GAS",
    ),
    ("我们这边有根电线掉下来了，垂到离地面很低的地方，下雨天怕漏电，小孩子在旁边玩", "POWER"),
    (
        "我们小区门口的网线电话线乱拉乱挂的，缠成一团，垂得很低，"
        "个子高一点的人走过去都会碰到头，也不知道是哪家运营商的",
        "TELECOM",
    ),
    ("小区附近有个化工厂，每天晚上都往外排废气，刺鼻得很，窗户都不敢开", "ECOLOGY"),
    ("我家门口那条河，河面上全是垃圾漂浮物，水也发黑发臭，夏天味道特别大", "WATER_AFFAIRS"),
    ("我在一个工地上干活，老板欠了我们工人半年的工资不给，我们找谁都没用", "TRANSFER_12345"),
    (
        "我跟物业签的合同到期了，他们不退押金，还一直扣我物业费，我想问问这个归谁管",
        "TRANSFER_12345",
    ),
]


@pytest.mark.parametrize("text, department", CASES)
def test_top_department(classifier: Classifier, text: str, department: str) -> None:
    result = classifier.classify(text)
    assert result.departments[0].code == department, (text, result.departments, result.matched)


def test_every_department_is_covered_by_the_cases() -> None:
    assert {department for _, department in CASES} == ALL_DEPARTMENTS


@pytest.mark.parametrize("text, _department", CASES)
def test_three_departments_best_first(classifier: Classifier, text: str, _department: str) -> None:
    result = classifier.classify(text)
    scores = [d.score for d in result.departments]
    assert len(result.departments) == 3
    assert len({d.code for d in result.departments}) == 3
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(d.name for d in result.departments)


@pytest.mark.parametrize(
    "text, department",
    [
        ("不是垃圾的问题，是下水道堵了", "MUNICIPAL"),
        ("不是垃圾的问题是下水道堵了", "MUNICIPAL"),
        ("上次的占道问题解决了，这次是路灯坏了", "MUNICIPAL"),
        ("上次的占道问题解决了这次是路灯坏了", "MUNICIPAL"),
        ("不是路灯，是红绿灯坏了", "TRAFFIC"),
        ("之前投诉的噪音已经处理好了，现在是门口的垃圾没人清", "SANITATION"),
    ],
)
def test_focus_on_what_the_caller_means_now(
    classifier: Classifier, text: str, department: str
) -> None:
    result = classifier.classify(text)
    assert result.departments[0].code == department, (result.departments, result.matched)


def test_an_unsolved_earlier_complaint_still_counts(classifier: Classifier) -> None:
    result = classifier.classify("上次反映的井盖丢了一直没解决，今天又有人差点掉下去")
    assert result.departments[0].code == "MUNICIPAL"
    assert result.urgent


@pytest.mark.parametrize(
    "text, code",
    [
        ("路口的井盖不见了", "01023"),
        ("路灯不亮", "01037"),
        ("夜市摊贩占道经营", "09006"),
        ("楼下饭店油烟太大", "06027"),
        ("人民路小区门口垃圾桶满溢，三天没人清运", "06042"),
        ("马路边上堆了一大堆生活垃圾没人管", "06010"),
        ("电线杆上贴满小广告", "07001"),
        ("楼顶私搭乱建", "06001"),
        ("地铁站出口共享单车乱停乱放，人都走不过去", "09011"),
        ("小区门口下水道堵了，污水漫到路面上", "200404"),
        ("雨后路面积水严重", "200111"),
        ("盲道上的砖坏了好几块", "06051"),
        ("路口红绿灯不亮", "02014"),
        ("有人砍伐绿化带的树", "06022"),
        ("燃气调压箱在响", "01049"),
        ("消防栓漏水", "01013"),
        ("河堤有一段塌了，护坡的石头掉到河里了", "06023"),
        ("移动公司的通信井盖破了一个角", "01007"),
    ],
)
def test_category(classifier: Classifier, text: str, code: str) -> None:
    result = classifier.classify(text)
    assert result.category is not None and result.category.code == code, result


def test_category_names_come_from_the_directory(classifier: Classifier) -> None:
    result = classifier.classify("路口的井盖不见了")
    assert result.category == Category("01023", "不明井盖异常")


@pytest.mark.parametrize(
    "text",
    ["公司拖欠工资三个月", "今天天气不错", "", "你好，请问是12319吗？"],
)
def test_no_category_outside_the_directory(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).category is None


@pytest.mark.parametrize(
    "text, urgent",
    [
        ("楼道里有很重的煤气味", True),
        ("路边井盖那里燃气泄漏了，味道很大", True),
        ("路口的井盖不见了，晚上有人差点掉下去", True),
        ("井盖缺失", True),
        ("前面路面塌陷了一个大坑", True),
        ("路口红绿灯不亮，车都乱了", True),
        ("大树倒在路上了", True),
        ("大风把行道树刮倒了，压在路上，车过不去", True),
        ("一根电线掉下来垂到地上了，怕有人触电", True),
        ("小区楼下自来水管爆了，水哗哗往外冒", True),
        ("垃圾桶满了", False),
        ("楼下烧烤油烟太大", False),
        ("路灯不亮", False),
        ("燃气调压箱的门坏了一直开着", False),
        ("井盖松动，车压过去哐哐响", False),
        ("停水两天了", False),
        ("以前这里煤气味很重，后来修好了，现在是垃圾没人收", False),
        ("不是燃气泄漏，是下水道返臭味", False),
    ],
)
def test_urgency(classifier: Classifier, text: str, urgent: bool) -> None:
    result = classifier.classify(text)
    assert result.urgent is urgent, result
    assert (result.urgent_reason is not None) is urgent


def test_urgency_gives_a_reason(classifier: Classifier) -> None:
    assert classifier.classify("楼道里有很重的煤气味").urgent_reason == "疑似燃气泄漏"


@pytest.mark.parametrize(
    "text",
    [
        "老板拖欠我们三个月工资不给，想投诉",
        "孩子学校乱收补课费，想反映一下",
        "我想问一下医保报销的比例是多少",
        "我的公积金怎么提取不出来",
    ],
)
def test_out_of_scope_goes_to_12345(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).departments[0].code == "TRANSFER_12345"


def test_matched_explains_the_choice(classifier: Classifier) -> None:
    result = classifier.classify("电线杆上贴满小广告")
    assert "小广告" in result.matched
    assert "电线杆" in result.matched


@pytest.mark.parametrize("text", ["", "   ", "\t", "。。。", "abc 123"])
def test_no_match_falls_back_to_low_prior_scores(classifier: Classifier, text: str) -> None:
    # Nothing the rules or the base model know: the prior alone.
    result = classifier.classify(text)
    assert [d.code for d in result.departments] == ["ENFORCEMENT", "SANITATION", "MUNICIPAL"]
    assert all(d.score < 0.1 for d in result.departments)
    assert result.category is None and result.urgent is False and result.matched == ()


@pytest.mark.parametrize("text", ["嗯", "今天天气不错", "你好，请问是12319吗？"])
def test_small_talk_suggests_nothing_firmly(classifier: Classifier, text: str) -> None:
    # The base model knows these words from other complaints; it is not sure of anything.
    result = classifier.classify(text)
    assert all(d.score < 0.3 for d in result.departments)
    assert result.category is None and result.urgent is False and result.hazard is None


def test_a_strong_match_is_confident_and_a_mixed_one_is_not(classifier: Classifier) -> None:
    strong = classifier.classify("夜市摊贩占道经营").departments
    mixed = classifier.classify("路灯下面有人摆地摊").departments
    assert strong[0].score > 0.7
    assert mixed[0].score - mixed[1].score < strong[0].score - strong[1].score


def test_very_long_text_is_fine(classifier: Classifier) -> None:
    text = "我们小区门口的垃圾桶满了没人清运，" * 300
    result = classifier.classify(text)
    assert result.departments[0].code == "SANITATION"
    assert 0.0 <= result.departments[0].score <= 1.0


def test_result_is_frozen(classifier: Classifier) -> None:
    result = classifier.classify("路灯不亮")
    assert isinstance(result, Classification)
    assert isinstance(result.departments[0], DepartmentScore)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.urgent = True  # type: ignore[misc]


def test_json_dict_has_exactly_the_contract_keys(classifier: Classifier) -> None:
    body = classifier.classify("解放路路口的井盖不见了").to_json_dict()
    assert set(body) == {
        "departments",
        "category",
        "urgent",
        "urgent_reason",
        "reasons",
        "location",
        "unclear_ownership",
        "hazard",
        "categories",
    }
    assert body["category"] == {"code": "01023", "name": "不明井盖异常"}
    assert body["categories"][0] == {
        "code": "01023",
        "name": "不明井盖异常",
        "score": body["categories"][0]["score"],
    }
    assert 0 < body["categories"][0]["score"] <= 1
    assert body["urgent"] is True
    assert body["urgent_reason"] == "井盖缺失、破损或移位，有坠落危险"
    assert body["hazard"] == {
        "kind": "cover",
        "object": "井盖",
        "failure": "missing",
        "failure_word": "不见了",
        "exposure": ["路口"],
    }
    assert [set(d) for d in body["departments"]] == [{"code", "score"}] * 3
    assert {
        "kind": "urgent",
        "target": body["urgent_reason"],
        "words": ["井盖", "不见了", "路口"],
    } in body["reasons"]
    assert body["location"]["address"] == "解放路路口"


def test_json_lines_contract(classifier: Classifier) -> None:
    lines = list(classify_lines(["井盖缺失", "", "随便说点什么\n", "公司拖欠工资"], classifier))
    assert len(lines) == 4
    for line in lines:
        assert "\n" not in line
        body = json.loads(line)
        assert {"departments", "category", "urgent", "reasons", "location"} <= set(body)
        assert len(body["departments"]) == 3
        assert all(set(d) == {"code", "score"} for d in body["departments"])
        assert body["category"] is None or set(body["category"]) == {"code", "name"}
        assert isinstance(body["urgent"], bool)
        scores = [d["score"] for d in body["departments"]]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert json.loads(lines[0])["departments"][0]["code"] == "MUNICIPAL"
    assert json.loads(lines[3])["departments"][0]["code"] == "TRANSFER_12345"
    assert "不明井盖异常" in lines[0]  # ensure_ascii=False: Chinese stays readable


def test_json_lines_without_a_classifier_loads_the_default() -> None:
    (line,) = classify_lines(["路灯不亮"])
    assert json.loads(line)["departments"][0]["code"] == "MUNICIPAL"


def test_the_global_jieba_tokenizer_is_untouched(classifier: Classifier) -> None:
    import jieba

    assert classifier.tokens("井盖缺失") == ["井盖缺失"]
    jieba.dt.initialize()
    assert not jieba.dt.FREQ.get("井盖缺失")
    assert jieba.lcut("井盖缺失") != ["井盖缺失"]


def test_shipped_data_matches_the_codes_in_use() -> None:
    data = resources.files("nlp").joinpath("data")
    with data.joinpath("departments.csv").open(encoding="utf-8") as handle:
        codes = {row["code"] for row in csv.DictReader(handle)}
    assert codes == ALL_DEPARTMENTS
    words = data.joinpath("userdict.txt").read_text(encoding="utf-8").split("\n")
    assert len([w for w in words if w.strip() and not w.startswith("#")]) >= 200


def test_import_prints_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import nlp; nlp.Classifier.load_default().classify('路灯不亮')"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "" and done.stderr == ""

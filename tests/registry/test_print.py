"""The printable registration form (/elders/<id>/print/) in the layout of the
elder's jurisdiction, and the blank form (/elders/print-blank/): Fujian
000_4970ff49482a0570.txt 附件3, Sichuan 001_35a01bee4c628ebd.txt 附件2, Linzi
003_fe235aaa23e67560.txt 附件1 (FORMS.md "Registration")."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tanfang.accounts.models import User
from tanfang.accounts.permissions import Role
from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry import crypto, printing
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import EmergencyContact, HelpReceived, HouseholdMember
from tanfang.registry.registration import register_elder
from tests.conftest import PASSWORD, VILLAGE_A, aware, sign_in

TODAY = aware(2026, 11, 23, 10, 0)
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")
MASKED_ID = ID_1940[:6] + "********" + ID_1940[-4:]
PHONE = "13812345678"
SON_ID = make_id_number("350581", date(1968, 5, 2), 7, "男")

# 四川省 成都市 锦江区 督院街道 某社区, and 山东省 淄博市 临淄区 闻韶街道 某村.
SICHUAN = [
    ("510000000000", "四川省", Level.PROVINCE, "", None),
    ("510100000000", "成都市", Level.CITY, "", "510000000000"),
    ("510104000000", "锦江区", Level.COUNTY, "", "510100000000"),
    ("510104001000", "督院街道", Level.TOWNSHIP, "", "510104000000"),
    ("510104001001", "东城根社区", Level.VILLAGE, Kind.URBAN, "510104001000"),
]
LINZI = [
    ("370000000000", "山东省", Level.PROVINCE, "", None),
    ("370300000000", "淄博市", Level.CITY, "", "370000000000"),
    ("370305000000", "临淄区", Level.COUNTY, "", "370300000000"),
    ("370305001000", "闻韶街道", Level.TOWNSHIP, "", "370305000000"),
    ("370305001201", "齐都村", Level.VILLAGE, Kind.RURAL, "370305001000"),
]


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def build(tree):
    for code, name, level, kind, parent in tree:
        Region.objects.create(code=code, name=name, level=level, kind=kind, parent_id=parent)
    return {code: Region.objects.get(code=code) for code, *_ in tree}


def officer(username, role, region):
    return User.objects.create_user(
        username, PASSWORD, full_name=username, role=role, region=region
    )


@pytest.fixture
def sichuan(regions):
    made = build(SICHUAN)
    return made["510104001001"], officer("liaison_sc", Role.LIAISON, made["510104001001"])


@pytest.fixture
def linzi(regions):
    made = build(LINZI)
    return made["370305001201"], officer("liaison_lz", Role.LIAISON, made["370305001201"])


def elder_in(village, registrar, **details):
    return register_elder(
        acting_user=registrar,
        id_number=details.pop("id_number", ID_1940),
        name=details.pop("name", "林阿婆"),
        village=village,
        phone=details.pop("phone", PHONE),
        residence_address=details.pop("residence_address", "南洋路18号"),
        **details,
    )


@pytest.fixture
def elder(users, regions):
    """A Fujian file with a ticked box in every row of the form."""
    elder = elder_in(
        regions[VILLAGE_A],
        users["liaison_a"],
        categories=["独居", "失能", "重残"],
        ability="moderate",
        minimum_living=True,
        disability_certificate=ID_1940 + "42",
        disability_type="physical",
        disability_grade=2,
        water_safe=True,
        housing_safe=False,
        household_monthly_income=Decimal("1800.00"),
        pension_monthly=Decimal("0"),
        monthly_disposable_income=Decimal("950.50"),
        income_sources="养老金",
        disease_history="高血压",
    )
    EmergencyContact.objects.create(
        elder=elder,
        name="林小明",
        sex="男",
        phone_token=crypto.encrypt("13955556666"),
        phone_hash=crypto.lookup_hash("13955556666", kind="phone"),
    )
    HouseholdMember.objects.create(
        elder=elder,
        name="林大伟",
        sex="男",
        relation="son",
        id_number_token=crypto.encrypt(SON_ID),
        health="good",
        visits_often=False,
    )
    elder.assistance.create(item="高龄津贴", monthly_amount=Decimal("100"))
    HelpReceived.objects.create(
        elder=elder, helper_type="volunteer", responsible_person="张志愿", measures="每周送餐"
    )
    return elder


def print_url(elder):
    return f"/elders/{elder.pk}/print/"


def reveals():
    return AuditEvent.objects.filter(action=Action.ELDER_REVEALED)


# Which layout


@pytest.mark.parametrize(
    ("code", "layout"),
    [
        ("350581100201", printing.FUJIAN),  # 石狮市
        ("510104001001", printing.SICHUAN),  # 成都市锦江区
        ("513401100201", printing.SICHUAN),  # 凉山州西昌市
        ("370305001201", printing.LINZI),  # 淄博市临淄区
        ("370303001201", printing.FUJIAN),  # 淄博市张店区: no form of its own
        ("370811001201", printing.FUJIAN),  # 济宁市任城区
        ("110101001001", printing.FUJIAN),  # 北京市东城区: the national profile
    ],
)
def test_it_chooses_the_form_by_the_elders_village(code, layout):
    assert printing.layout_for(code) is layout


def test_it_prints_the_fujian_form_for_a_fujian_elder(client_for, elder):
    response = client_for("liaison_a").get(print_url(elder))

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "registry/print/fujian.html"
    html = response.content.decode()
    assert "<h1>特殊困难老年人信息登记表</h1>" in html
    assert "建档日期：2026 年 11 月 23 日" in html
    assert "一、服务对象基本情况" in html and "四、已享受帮扶情况" in html
    assert "备注：此表一式两份，县级民政部门、乡镇（街道）各存档一份。" in html
    assert "工作人员签字" in html
    # Sections in the order of the annex.
    positions = [
        html.index(s) for s in ("一、服务对象基本情况", "二、家庭成员", "三、家庭生活条件", "四、")
    ]
    assert positions == sorted(positions)


def test_it_prints_the_sichuan_form_for_a_sichuan_elder(sichuan):
    village, liaison = sichuan
    elder = elder_in(
        village,
        liaison,
        id_number=make_id_number("510104", date(1938, 1, 2), 4, "男"),
        name="张大爷",
        lives_at_registration=False,
        extreme_poverty=True,
        categories=["孤寡"],
    )

    response = sign_in(Client(), liaison).get(print_url(elder))

    assert [t.name for t in response.templates][0] == "registry/print/sichuan.html"
    html = response.content.decode()
    assert "<h1>四川省特殊困难老年人信息登记表</h1>" in html
    assert "一、探访对象基本情况" in html and "二、家庭基本情况" in html
    assert "是否为低保对象/特困人员" in html
    assert "锦江区</span>县（市、区）" in html
    assert "督院街道</span>乡镇（街道）" in html
    assert "东城根社区</span>村（居）" in html
    assert "☑否" in html and "□是" in html  # 是否居住在户籍所在地
    assert "☑特困人员" in html
    assert "☑孤寡老年人" in html
    assert "一式三份" in html


def test_it_prints_the_linzi_form_for_a_linzi_elder(linzi):
    village, liaison = linzi
    elder = elder_in(
        village,
        liaison,
        id_number=make_id_number("370305", date(1944, 6, 1), 8, "女"),
        name="王奶奶",
        health="fair",
        living_source="children",
        annual_income=Decimal("0.80"),
        children_count=2,
        other_notes="儿子在外务工",
    )
    HouseholdMember.objects.create(
        elder=elder, name="王大爷", relation="spouse", health="poor", lives_with_elder=True
    )
    HouseholdMember.objects.create(
        elder=elder,
        name="王小军",
        relation="son",
        main_supporter=True,
        phone_token=crypto.encrypt("13511112222"),
        away_since=date(2023, 3, 1),
        away_where="浙江宁波",
        planned_return="2027年春节",
    )
    HelpReceived.objects.create(
        elder=elder,
        helper_type="township_village",
        responsible_person="李书记",
        contact_identity="村干部",
        unit_name="齐都村委会",
        contact_phone_token=crypto.encrypt("13622223333"),
    )

    response = sign_in(Client(), liaison).get(print_url(elder))

    assert [t.name for t in response.templates][0] == "registry/print/linzi.html"
    html = response.content.decode()
    assert "<h1>临淄区特殊关爱群体老年人信息采集表</h1>" in html
    assert "闻韶街道</span>镇（街道）" in html
    assert "1944年6月" in html  # 出生年月
    assert "☑一般" in html and "□良好" in html  # 健康状况
    assert "☑子女赡养" in html and "□个人积蓄" in html
    assert "0.8" in html  # 年收入（万元）
    # 共同居住人: the spouse, in poor health (较差 on this form).
    assert "王大爷" in html and "☑配偶" in html and "☑较差" in html
    # 主要赡养人, masked phone, working away.
    assert "王小军" in html and "135****2222" in html and "13511112222" not in html
    assert "2023年3月" in html and "浙江宁波" in html and "2027年春节" in html
    # 帮扶联系人.
    assert "李书记" in html and "☑村干部" in html and "齐都村委会" in html
    assert "136****3333" in html
    assert "儿子在外务工" in html


# What the form shows


def test_it_ticks_the_boxes_of_the_file_and_only_those(client_for, elder):
    html = client_for("liaison_a").get(print_url(elder)).content.decode()

    for ticked in (
        "☑独居老年人",
        "☑失能老年人（包括中、重）",
        "☑重残老年人",
        "☑中度失能",
        "☑低保、低保边缘",
        "☑无养老保险",
        "☑志愿者",
    ):
        assert ticked in html
    for unticked in (
        "□孤寡老年人",
        "□空巢老年人",
        "□留守老年人",
        "□计划生育特殊家庭老年人",
        "□能力完好",
        "□轻度失能",
        "□重度失能",
        "□特困人员",
        "□有领取养老保险",
        "□党政机关、群团组织",
        "□企业",
    ):
        assert unticked in html
    assert html.count("☑") == 7


@pytest.mark.parametrize(
    ("pension", "ticked", "unticked"),
    [
        (Decimal("350"), '☑有领取养老保险，每月<span class="fill">350</span>元', "□无养老保险"),
        (Decimal("0"), "☑无养老保险", "□有领取养老保险"),
        (None, "□无养老保险", "□有领取养老保险"),
    ],
)
def test_it_ticks_the_pension_only_as_the_file_states_it(
    pension, ticked, unticked, client_for, users, regions
):
    elder = elder_in(regions[VILLAGE_A], users["liaison_a"], pension_monthly=pension)

    html = client_for("liaison_a").get(print_url(elder)).content.decode()

    assert ticked in html
    assert unticked in html


@pytest.mark.parametrize(
    ("ability", "box", "note"),
    [
        ("complete", "☑重度失能", "（完全失能）"),
        ("bedridden", "☑重度失能", "（未评估，长期卧床）"),
        ("impaired_mobility", "☑中度失能", "（未评估，行动不便）"),
        ("severe", "☑重度失能", None),
    ],
)
def test_it_ticks_the_level_an_ability_counts_as(ability, box, note, client_for, users, regions):
    # 004_1657df0ed1e05604.txt 二(一): not assessed but bedridden counts as severe.
    elder = elder_in(regions[VILLAGE_A], users["liaison_a"], ability=ability)

    html = client_for("liaison_a").get(print_url(elder)).content.decode()

    assert box in html
    if note:
        assert note in html
    else:
        assert "（重度失能）" not in html


def test_it_fills_the_household_rows_and_the_emergency_contact(client_for, elder):
    html = client_for("liaison_a").get(print_url(elder)).content.decode()

    assert "林大伟" in html and "儿子" in html and "良好" in html
    assert SON_ID[:6] + "********" + SON_ID[-4:] in html
    assert "林小明" in html and "139****6666" in html
    assert "高龄津贴" in html and "100 元" in html
    assert "张志愿" in html and "每周送餐" in html
    # The annex's four rows of 家庭成员, the first one filled.
    assert html.count('<tr class="row">') == 4


def test_it_masks_the_id_phone_addresses_and_certificate_by_default(client_for, elder):
    response = client_for("county").get(print_url(elder))

    html = response.content.decode()
    assert MASKED_ID in html
    assert "138****5678" in html
    assert ID_1940 not in html
    assert PHONE not in html
    assert "13955556666" not in html
    assert SON_ID not in html
    assert "南洋路18号" not in html
    assert not reveals().exists()
    assert "no-store" in response["Cache-Control"]


def test_it_prints_everything_whole_only_through_the_audited_post(client_for, users, elder):
    response = client_for("township_a").post(print_url(elder))

    assert response.status_code == 200
    html = response.content.decode()
    assert ID_1940 in html
    assert PHONE in html
    assert "13955556666" in html
    assert SON_ID in html
    assert "南洋路18号" in html
    assert ID_1940 + "42" in html
    event = reveals().get()
    assert event.detail == {"field": "print_form"}
    assert event.actor == users["township_a"]
    assert event.object_id == str(elder.pk)
    assert "no-store" in response["Cache-Control"]


def test_it_offers_the_full_printout_only_to_roles_that_may_reveal(client_for, elder, cover):
    cover(elder)
    offered = client_for("liaison_a").get(print_url(elder)).content.decode()
    not_offered = client_for("visitor_a").get(print_url(elder)).content.decode()

    assert "打印完整信息" in offered
    assert "返回档案" in not_offered and "打印完整信息" not in not_offered


@pytest.mark.parametrize("username", ["visitor_a", "supervisor"])
def test_it_refuses_the_full_printout_to_roles_that_may_not_reveal(
    username, client_for, elder, cover
):
    cover(elder)
    response = client_for(username).post(print_url(elder))

    assert response.status_code == 403
    assert ID_1940 not in response.content.decode()
    assert not reveals().exists()


def test_it_answers_404_to_the_liaison_of_another_village(client_for, elder):
    client = client_for("liaison_b")

    assert client.get(print_url(elder)).status_code == 404
    assert client.post(print_url(elder)).status_code == 404
    assert not reveals().exists()


def test_it_links_the_form_from_the_file_page(client_for, elder, cover):
    cover(elder)
    html = client_for("visitor_a").get(f"/elders/{elder.pk}/").content.decode()

    assert f'href="{print_url(elder)}"' in html
    assert "打印登记表" in html


def test_it_reads_the_file_in_the_same_number_of_queries_whatever_its_size(
    client_for, users, regions, elder
):
    client = client_for("liaison_a")
    with CaptureQueriesContext(connection) as small:
        client.get(print_url(elder))
    for n in range(6):
        HouseholdMember.objects.create(elder=elder, name=f"成员{n}", relation="other")
        EmergencyContact.objects.create(
            elder=elder, name=f"联系人{n}", phone_token=crypto.encrypt(PHONE), phone_hash="x"
        )
        elder.assistance.create(item=f"项目{n}", monthly_amount=Decimal("1"))

    with CaptureQueriesContext(connection) as large:
        response = client.get(print_url(elder))

    assert "成员5" in response.content.decode()
    assert len(large) == len(small)


def test_it_keeps_the_layout_free_of_scripts_and_styles_inline(client_for, elder):
    html = client_for("liaison_a").get(print_url(elder)).content.decode()

    assert "/static/registry/print.css" in html
    assert "<style" not in html
    assert "style=" not in html
    assert "<script>" not in html
    assert "onclick" not in html


# The blank form


def test_it_prints_a_blank_form_of_the_users_jurisdiction(client_for):
    response = client_for("liaison_a").get("/elders/print-blank/")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "registry/print/fujian.html"
    html = response.content.decode()
    assert "<h1>特殊困难老年人信息登记表</h1>" in html
    assert "☑" not in html
    assert "□孤寡老年人" in html
    assert html.count('<tr class="row">') == 4
    assert "打印完整信息" not in html


def test_it_prints_the_blank_form_of_sichuan_and_linzi_for_their_officers(sichuan, linzi):
    for (_, liaison), template in ((sichuan, "sichuan"), (linzi, "linzi")):
        response = sign_in(Client(), liaison).get("/elders/print-blank/")

        assert [t.name for t in response.templates][0] == f"registry/print/{template}.html"
        assert "☑" not in response.content.decode()


def test_it_answers_only_get_for_the_blank_form(client_for):
    assert client_for("liaison_a").post("/elders/print-blank/").status_code == 405

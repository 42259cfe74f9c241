"""Chinese wording of appeals, operator answers and office replies.

Consumes a seeded random generator and the facts of an issue (category, what, which
problem, for how long, where). Produces titles and texts in the register of real 12345
records. An issue keeps its facts; each call about it is worded afresh (openers,
synonyms, clause order, polite phrases), so rewordings of one issue share their facts
but rarely their bytes. Unreasonable and out-of-scope appeals are written as callers say
them, without marker words, so that a screen stage has to read the text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

STREET_ROUTE = "street"


@dataclass(frozen=True)
class Theme:
    """One kind of problem: synonyms of what it is about, and the facts that can be wrong."""

    subjects: tuple[str, ...]
    details: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    route: str  # STREET_ROUTE (the place's street office) or a department's office id
    weight: float  # share of fresh appeals
    neighbourly: bool  # neighbours notice the same problem and call about it too
    themes: tuple[Theme, ...]
    impacts: tuple[str, ...]


@dataclass(frozen=True)
class IssueFacts:
    """What stays the same however often, and by whomever, an issue is reported."""

    category: Category
    theme_index: int
    detail_index: int
    duration_index: int


@dataclass(frozen=True)
class Wording:
    title: str
    text: str


CATEGORIES: tuple[Category, ...] = (
    Category(
        "noise", "噪音扰民", STREET_ROUTE, 12, True,
        (
            Theme(("楼下的烧烤店", "楼下烧烤摊"), (("每天晚上吆喝到半夜", "夜里十二点了还在吆喝"), ("排风机噪音很大", "排风扇声音特别大"))),
            Theme(("附近的建筑工地", "旁边的工地"), (("凌晨还在施工", "半夜一两点还在干活"), ("打桩声音震耳朵", "打桩机吵得厉害"))),
            Theme(("隔壁的KTV", "附近那家KTV"), (("唱歌唱到凌晨", "天天闹到凌晨两三点"),)),
            Theme(("小区广场舞", "广场舞的音响"), (("音响开得特别大", "音箱声音开到最大"), ("早上六点就开始放音乐", "天没亮就开始放音乐"))),
            Theme(("楼上装修", "楼上邻居装修"), (("中午和晚上都在打电钻", "午休时间还在打电钻"),)),
        ),
        ("严重影响休息", "家里老人孩子都睡不好", "影响周边居民正常生活", "孩子在备考没法学习"),
    ),
    Category(
        "sanitation", "环境卫生", STREET_ROUTE, 10, True,
        (
            Theme(("小区的垃圾桶", "垃圾桶"), (("好几天没人来清运", "好几天都没人收"), ("垃圾满得溢出来", "垃圾堆得漫出来了"))),
            Theme(("路边的垃圾堆", "路边堆的垃圾"), (("一直没人清理", "始终没人管"), ("越堆越多", "越堆越高"))),
            Theme(("附近的公共厕所", "那个公厕"), (("脏得没法进", "又脏又臭没人打扫"), ("冲水坏了一直没修", "冲水坏了好久没人修"))),
            Theme(("小区门口的建筑垃圾", "门口的装修垃圾"), (("堆了很久没运走", "一直堆着没人拉走"),)),
        ),
        ("苍蝇蚊子特别多", "路过都得捂着鼻子", "严重影响小区环境", "担心滋生细菌影响健康"),
    ),
    Category(
        "road", "道路设施", "dept-transport", 7, True,
        (
            Theme(("门口的马路", "路面"), (("有个大坑", "坑坑洼洼的"), ("塌陷了一块", "有一块陷下去了"))),
            Theme(("人行道上的井盖", "人行道井盖"), (("不见了", "缺失了"), ("破损松动", "裂了还晃动"))),
            Theme(("路灯", "路边的路灯"), (("晚上一直不亮", "天黑以后全都不亮"),)),
            Theme(("人行道地砖", "人行道的砖"), (("松动翘起", "踩上去晃得厉害"),)),
        ),
        ("晚上走路很危险", "已经有电动车摔倒了", "老人小孩出行不安全", "车辆经过容易出事故"),
    ),
    Category(
        "water_supply", "供水", "dept-water", 8, True,
        (
            Theme(("家里的自来水", "自来水"), (("突然停水了", "停水了也没有通知"), ("水压特别低", "水压小得高层用不上水"), ("水发黄有异味", "出来的水是黄的还有味道"))),
            Theme(("小区供水管道", "楼下的水管"), (("爆裂漏水", "破了一直在漏水"),)),
        ),
        ("做饭洗澡都成问题", "全楼都受影响", "老人孩子生活很不方便", "只能去外面买水"),
    ),
    Category(
        "heating", "供暖", "dept-housing", 4, True,
        (
            Theme(("家里的暖气", "暖气"), (("一点都不热", "摸着是凉的"), ("温度只有十几度", "室温才十几度"))),
            Theme(("单元的供暖管道", "楼道里的暖气管"), (("漏水", "往外渗水"),)),
        ),
        ("家里老人冻感冒了", "晚上冷得睡不着", "交了取暖费却不热", "孩子一直咳嗽"),
    ),
    Category(
        "property_management", "物业管理", STREET_ROUTE, 10, True,
        (
            Theme(("小区物业", "物业公司"), (("收了物业费不干事", "收钱不服务"), ("私自涨物业费", "擅自上调物业费"))),
            Theme(("单元电梯", "我们楼的电梯"), (("坏了一直没修", "停运好久没人修"), ("经常困人", "动不动就困人"))),
            Theme(("小区门禁", "小区的门禁系统"), (("坏了外人随便进", "坏了谁都能进来"),)),
            Theme(("地下车库", "小区地库"), (("积水严重", "一下雨就积水"),)),
        ),
        ("业主意见很大", "老人上下楼特别困难", "小区安全没有保障", "找物业也推来推去"),
    ),
    Category(
        "market_supervision", "市场监管", "dept-market", 7, False,
        (
            Theme(("附近一家超市", "路口的超市"), (("卖过期食品", "货架上有过期的食品"), ("缺斤少两", "称不准少给分量"))),
            Theme(("一家健身房", "我办卡的健身房"), (("突然关门卷款跑路", "关门了预付卡没法退"),)),
            Theme(("一家培训机构的广告", "某商家的广告"), (("虚假宣传", "夸大宣传骗人"),)),
            Theme(("小区门口的餐馆", "楼下的饭店"), (("后厨卫生很差", "厨房脏乱有老鼠"),)),
        ),
        ("消费者权益受损", "担心吃坏肚子", "好多人都上当了", "要求退款商家不理"),
    ),
    Category(
        "traffic", "交通秩序", "dept-transport", 6, True,
        (
            Theme(("路边车辆", "很多车"), (("乱停乱放占用人行道", "随意停在人行道上"),)),
            Theme(("路口的红绿灯", "十字路口信号灯"), (("坏了不亮", "一直闪黄灯"),)),
            Theme(("渣土车", "拉土的大货车"), (("晚上超速闯红灯", "沿路撒土还超速"),)),
            Theme(("小区门口的道路", "学校门口的路"), (("早晚高峰堵得厉害", "上下学时间堵死"),)),
        ),
        ("行人只能走机动车道", "很容易出交通事故", "上班经常迟到", "存在很大安全隐患"),
    ),
    Category(
        "labor_wages", "劳动工资", "dept-hrss", 7, False,
        (
            Theme(("我打工的公司", "我们公司"), (("拖欠工资三个月", "三个月没发工资了"), ("不给缴社保", "一直没给交社保"))),
            Theme(("我干活的工地", "我们工地的包工头"), (("拖欠农民工工资", "欠我们的工钱不给"),)),
            Theme(("原来的单位", "以前的公司"), (("辞退我不给补偿", "把我辞退了不给经济补偿"),)),
        ),
        ("家里生活很困难", "孩子学费都交不上", "找老板好几次都没结果", "工友们都很着急"),
    ),
    Category(
        "housing", "住房保障", "dept-housing", 5, False,
        (
            Theme(("我们小区的开发商", "开发商"), (("延期交房", "到现在还没交房"), ("不给办房产证", "迟迟不给办不动产证"))),
            Theme(("我申请的公租房", "公租房申请"), (("审核一直没有结果", "半年了还没消息"),)),
            Theme(("买的新房", "刚收的新房"), (("墙体开裂漏水", "墙面裂缝还渗水"),)),
        ),
        ("一家人只能在外面租房", "找开发商也推脱", "影响孩子上学落户", "损失很大"),
    ),
    Category(
        "greening", "园林绿化", "dept-urban", 4, True,
        (
            Theme(("路边的大树", "小区旁边的树"), (("被风刮倒了", "歪倒压在路边"), ("树枝挡住了路灯", "树枝太长遮住窗户"))),
            Theme(("街边绿地", "小区外的绿化带"), (("被人毁了种菜", "被占用堆杂物"),)),
        ),
        ("存在安全隐患", "影响通行", "破坏环境", "家里白天也不见光"),
    ),
    Category(
        "public_transport", "公交出行", "dept-transport", 5, False,
        (
            Theme(("这一路公交车", "公交车"), (("不按站停车", "经常过站不停"), ("班次太少", "要等四十多分钟"))),
            Theme(("公交司机", "这趟车的司机"), (("态度恶劣", "对乘客大吼大叫"),)),
            Theme(("附近的公交站台", "公交站的候车亭"), (("顶棚坏了", "站牌坏了看不清"),)),
        ),
        ("上下班很不方便", "老人等车很辛苦", "乘客意见很大", "下雨天没地方躲"),
    ),
    Category(
        "environment", "环境污染", "dept-environment", 5, True,
        (
            Theme(("附近的一家工厂", "旁边的化工厂"), (("排放刺鼻气味", "晚上偷偷排废气"),)),
            Theme(("楼下饭店的油烟", "底商餐馆的油烟"), (("直排到居民楼", "直接往楼上飘"),)),
            Theme(("小区旁边的河道", "附近的河"), (("发黑发臭", "水是黑的还很臭"),)),
        ),
        ("窗户都不敢开", "家里人嗓子不舒服", "担心影响身体健康", "夏天更严重"),
    ),
    Category(
        "education", "教育", "dept-education", 4, False,
        (
            Theme(("孩子上的培训机构", "一家校外培训机构"), (("不给退费", "退费拖着不办"),)),
            Theme(("孩子所在的学校", "孩子学校"), (("乱收费", "要求家长额外交钱"),)),
            Theme(("孩子入学", "孩子的入学问题"), (("学区划分不合理", "被划到很远的学校"),)),
        ),
        ("家长们都很着急", "经济负担很重", "孩子上学要走很远", "很多家长有意见"),
    ),
    Category(
        "illegal_construction", "违章建筑", STREET_ROUTE, 4, True,
        (
            Theme(("顶楼住户", "楼顶有人"), (("私自加盖房子", "违规搭建阳光房"),)),
            Theme(("一楼住户", "楼下商铺"), (("占用公共绿地搭棚子", "私自扩建围院子"),)),
        ),
        ("存在安全隐患", "占用公共空间", "邻居们都有意见", "影响采光"),
    ),
)

CATEGORY_BY_CODE = {category.code: category for category in CATEGORIES}

# Each duration fact with its phrasings.
_DURATIONS: tuple[tuple[str, ...], ...] = (
    ("这两天", "最近两天"),
    ("已经一个星期了", "有一个礼拜了", "持续一周了"),
    ("半个多月了", "持续了半个月"),
    ("一个多月了", "已经一个多月"),
    ("好几个月了", "几个月来一直这样"),
)
_OPENERS = ("您好，", "你好，", "", "", "我想反映一个问题，", "麻烦记录一下，", "打扰了，", "你好，我要投诉，")
_QUESTION_OPENERS = ("您好，", "你好，", "", "麻烦问一下，", "打扰一下，")
_CONNECTORS = ("{s}{d}", "{s}{d}", "这边{s}{d}", "发现{s}{d}")
_PLACE_LEADS = ("{address}，", "在{address}，", "我住在{address}，", "我家在{address}，")
_PLACE_TAILS = ("地址：{address}。", "具体位置在{address}。", "地点是{address}。")
_REQUESTS = (
    "希望相关部门尽快处理。",
    "请有关部门尽快派人来看看。",
    "麻烦尽快协调解决。",
    "恳请政府部门重视，早日解决。",
    "希望能给个答复。",
    "请相关部门管一管。",
)
_CLOSERS = ("谢谢！", "辛苦了。", "", "", "谢谢你们。", "盼回复。")
_TITLES = ("反映{place}{label}问题", "{place}{s}{d}", "关于{s}{d}", "{label}：{place}{s}{d}", "{s}{d}问题")
_CONTACT_PHRASES = ("联系电话{phone}。", "我的手机号是{phone}，有事打这个电话。", "回电请打{phone}。")
_ID_PHRASES = ("我的身份证号是{id}。", "身份证号码{id}，可以核实。")


def draw_facts(rng: random.Random, category: Category) -> IssueFacts:
    theme_index = rng.randrange(len(category.themes))
    details = category.themes[theme_index].details
    return IssueFacts(category, theme_index, rng.randrange(len(details)), rng.randrange(len(_DURATIONS)))


def word_appeal(rng: random.Random, facts: IssueFacts, place: str, address: str) -> Wording:
    """A fresh wording of an issue: the same facts, phrased by one caller on one day."""
    category = facts.category
    theme = category.themes[facts.theme_index]
    subject = rng.choice(theme.subjects)
    detail = rng.choice(theme.details[facts.detail_index])
    duration = rng.choice(_DURATIONS[facts.duration_index])
    impact = rng.choice(category.impacts)
    problem = rng.choice(_CONNECTORS).format(s=subject, d=detail)
    if rng.random() < 0.5:
        middle = f"{problem}，{duration}，{impact}。"
    else:
        middle = f"{duration}，{problem}，{impact}。"
    if rng.random() < 0.6:
        text = rng.choice(_OPENERS) + rng.choice(_PLACE_LEADS).format(address=address) + middle + rng.choice(_REQUESTS)
    else:
        text = rng.choice(_OPENERS) + middle + rng.choice(_REQUESTS) + rng.choice(_PLACE_TAILS).format(address=address)
    title = rng.choice(_TITLES).format(place=place, label=category.label, s=subject, d=detail)
    return Wording(title, text + rng.choice(_CLOSERS))


def contact_phrase(rng: random.Random, phone: str) -> str:
    return rng.choice(_CONTACT_PHRASES).format(phone=phone)


def id_number_phrase(rng: random.Random, id_number: str) -> str:
    return rng.choice(_ID_PHRASES).format(id=id_number)


@dataclass(frozen=True)
class Consultation:
    category: str
    title: str
    questions: tuple[str, ...]


CONSULTATIONS: tuple[Consultation, ...] = (
    Consultation("labor_wages", "咨询灵活就业社保缴纳", ("请问灵活就业人员社保怎么缴纳？", "我现在自己干活，想问一下社保自己怎么交？")),
    Consultation("housing", "咨询公租房申请条件", ("想问一下申请公租房需要什么条件？", "请问公租房怎么申请，要准备哪些材料？")),
    Consultation("education", "咨询小学入学报名", ("孩子今年上小学，请问什么时候开始报名？", "想咨询一下一年级入学报名的时间和材料。")),
    Consultation("public_transport", "咨询老年乘车卡办理", ("我父亲满六十五岁了，老年人乘车卡在哪里办？", "请问老年卡免费乘车怎么办理？")),
    Consultation("market_supervision", "咨询营业执照办理", ("我想开个小吃店，营业执照怎么办理？", "请问个体工商户执照在网上能办吗？")),
    Consultation("water_supply", "咨询水费缴纳方式", ("请问水费可以在手机上交吗？", "想问一下水费去哪里交，能不能线上缴？")),
    Consultation("heating", "咨询停暖时间", ("请问今年什么时候停止供暖？", "想问一下今年供暖到几号结束？")),
    Consultation("traffic", "咨询电动自行车上牌", ("新买的电动自行车怎么上牌？", "请问电动车上牌需要带什么材料？")),
)
CONSULTATION_ANSWERS = (
    "已根据知识库向来电人解答办理流程和所需材料",
    "已告知相关政策及办理渠道，来电人表示清楚",
    "已解答咨询并告知可通过政务服务网办理",
)


# An information call as the operator records it: the same note every time.
ENQUIRY_CATEGORY = "information_enquiry"
ENQUIRY_WORDING = Wording("信息咨询", "来电咨询政策信息，已当场解答。")
CENTRE_ADDRESS = "云州市12345政务服务便民热线中心"

AIRCRAFT_NOISE_CATEGORY = "aircraft_noise"
_AIRCRAFT_NOISE_TITLES = ("飞机噪音扰民", "机场航班噪音", "反映飞机噪音问题", "飞机太吵")
_AIRCRAFT_NOISE_COMPLAINTS = (
    "飞机起降的噪音太大，晚上根本睡不着",
    "每天夜里都有飞机从头顶飞过，轰隆隆的",
    "航班越来越多，噪音从早到晚不停",
    "凌晨还有飞机低空飞过，窗户都在震",
)
AIRCRAFT_NOISE_ANSWERS = ("已记录并向来电人解释机场噪音监测和航线安排情况", "已告知机场噪音投诉渠道，来电人表示知晓")


def word_aircraft_noise(rng: random.Random, place: str, address: str) -> Wording:
    text = rng.choice(_OPENERS) + rng.choice(_PLACE_LEADS).format(address=address) + rng.choice(_AIRCRAFT_NOISE_COMPLAINTS) + "，" + rng.choice(_REQUESTS)
    return Wording(rng.choice(_AIRCRAFT_NOISE_TITLES), text + rng.choice(_CLOSERS))


def word_consultation(rng: random.Random, consultation: Consultation) -> Wording:
    return Wording(consultation.title, rng.choice(_QUESTION_OPENERS) + rng.choice(consultation.questions) + rng.choice(_CLOSERS))


@dataclass(frozen=True)
class OutOfScope:
    """An appeal the hotline should not turn into a work order, as a caller words it."""

    reason: str
    category: str
    urgency: str
    title: str
    texts: tuple[str, ...]  # may use {address}, {elsewhere}
    answer: str
    located: bool  # the appeal is about a place in this city
    # Texts among `texts` that say nothing at all: their truth reason is no_content.
    texts_without_content: tuple[str, ...] = ()


OUT_OF_SCOPE: tuple[OutOfScope, ...] = (
    OutOfScope(
        "litigation_or_arbitration", "labor_wages", "normal", "要求催办劳动仲裁",
        (
            "我和公司的工资纠纷已经申请劳动仲裁了，仲裁委立案一个多月还没开庭，你们帮我催一下，让公司先把钱给我。",
            "我工伤的事仲裁裁决已经出来了，公司不服又起诉到法院，现在案子还在审，你们帮我跟法官说说尽快判。",
        ),
        "已告知该事项已进入仲裁或诉讼程序，请依法定程序解决",
        False,
    ),
    OutOfScope(
        "litigation_or_arbitration", "housing", "normal", "房屋买卖纠纷",
        (
            "我跟卖房的人因为房款打官司，法院已经立案了，下个月开庭，我要求你们出面让对方先退钱。",
            "法院判了对方赔我八万块钱，判决书下来半年了对方一直不执行，你们政府帮我去要回来。",
        ),
        "已告知该事项属司法程序，请向法院申请强制执行或等待审理",
        False,
    ),
    OutOfScope(
        "emergency_service", "public_safety", "emergency", "楼下起火",
        ("{address}楼下着火了，烟特别大，楼上还有人没下来，快来人！", "快！{address}有家店铺烧起来了，火很大！"),
        "已立即转接119消防救援",
        True,
    ),
    OutOfScope(
        "emergency_service", "public_safety", "emergency", "有人持刀抢劫",
        ("我在{address}附近，有个人拿着刀在抢东西，人还没走，快派警察来！", "{address}停车场有两个人正在撬车门偷东西，现在还在撬。"),
        "已立即转接110报警服务台",
        True,
    ),
    OutOfScope(
        "emergency_service", "health", "emergency", "老人突然晕倒",
        ("我父亲在家突然晕倒了，叫不醒，嘴唇发紫，快派救护车到{address}！", "{address}有个老人倒在路边抽搐，口吐白沫，赶紧叫救护车！"),
        "已立即转接120急救中心",
        True,
    ),
    OutOfScope(
        "emergency_service", "public_safety", "emergency", "燃气泄漏",
        ("家里燃气泄漏了，满屋子都是煤气味，不敢开灯，地址是{address}，快来人！",),
        "已指导来电人开窗撤离并转接119",
        True,
    ),
    OutOfScope(
        "outside_jurisdiction", "housing", "normal", "开发商延期交房",
        ("我在{elsewhere}买的房子，开发商延期交房一年了，当地也没人管，你们帮我处理一下。",),
        "已告知该事项不属本市管辖，请向当地政务服务便民热线反映",
        False,
    ),
    OutOfScope(
        "outside_jurisdiction", "labor_wages", "normal", "外地工地欠薪",
        ("我之前在{elsewhere}一个工地干活，包工头欠我两万块钱工资，我现在回来了，你们给那边打个电话让他们给钱。",),
        "已告知向务工所在地人社部门或当地热线反映",
        False,
    ),
    OutOfScope(
        "outside_jurisdiction", "market_supervision", "normal", "外地旅游购物纠纷",
        ("我上个月在{elsewhere}旅游，在一家店买了个玉镯子花了五千多，回来一看是假的，要求你们帮我退款。",),
        "已告知向消费地市场监管部门投诉",
        False,
    ),
    OutOfScope(
        "outside_jurisdiction", "traffic", "normal", "外地交通罚单",
        ("我的车在{elsewhere}被贴了罚单，我觉得不合理，要求你们给撤销掉。",),
        "已告知向违法行为发生地交管部门申请复核",
        False,
    ),
    OutOfScope(
        "abusive_content", "other", "normal", "市民来电",
        (
            "你们这帮废物，拿着老百姓的钱不干人事，一群饭桶，趁早都滚回家去！",
            "什么破热线，就是个摆设，接电话的全是骗子，我就是要骂你们，一帮垃圾！",
            "打了多少遍了还是这样，你们脑子有病吧，一群吃干饭的蠢货！",
        ),
        "来电人情绪激动，使用侮辱性语言，已做好解释",
        False,
    ),
    OutOfScope(
        "non_actionable", "other", "normal", "市民来电",
        (
            "喂？喂？听得见吗？……算了。",
            "没什么事，就是心里烦，想找个人说说话。",
            "嗯……我也不知道要说什么，没事了。",
            "。。。",
            "就是随便打打，看看有没有人接。",
        ),
        "来电人无具体事项，已结束通话",
        False,
        texts_without_content=("喂？喂？听得见吗？……算了。", "。。。"),
    ),
)
OUT_OF_SCOPE_REASONS = tuple(dict.fromkeys(scope.reason for scope in OUT_OF_SCOPE))
ELSEWHERE = ("广东省广州市天河区", "河南省郑州市金水区", "四川省成都市武侯区", "浙江省杭州市西湖区", "湖南省长沙市岳麓区")


def truth_reason(scope: OutOfScope, wording: Wording) -> str:
    """The reason code the truth file gives an out-of-scope appeal worded so."""
    return "no_content" if wording.text in scope.texts_without_content else scope.reason


def word_out_of_scope(rng: random.Random, scope: OutOfScope, address: str) -> Wording:
    text = rng.choice(scope.texts).format(address=address, elsewhere=rng.choice(ELSEWHERE))
    if scope.reason in ("emergency_service", "abusive_content", "non_actionable"):
        return Wording(scope.title, text)
    return Wording(scope.title, rng.choice(_OPENERS) + text + rng.choice(_CLOSERS))


FREQUENT_CALLER_ANSWERS = ("已做好解释，来电人表示知晓", "已告知相关事项的办理情况，来电人仍坚持反映")

FIRST_CONTACT_REPLIES = (
    "已与诉求人电话联系，了解具体情况",
    "已联系市民，约定现场查看时间",
    "已电话回复，正在协调处理",
)
INTERIM_REPLIES = ("已现场查看，正在协调相关单位处置", "问题较复杂，正在推进中，已告知诉求人进度")
RESOLUTIONS = (
    "经现场核实，已协调相关单位处理完毕",
    "已安排工作人员现场处置，问题已解决",
    "已责令相关责任方限期整改，并向诉求人反馈",
    "经核查，已按规定处理并回复诉求人",
)
RUSH_RESOLUTIONS = ("已与诉求人沟通解释，按期办结", "已联系诉求人说明情况，办结")
RETURN_REASONS = ("该事项不属于本单位职责范围，请重新派单", "经核实，诉求地址不在本单位辖区", "诉求内容应由行业主管部门办理")
OUT_OF_SCOPE_RETURN_REASONS = {
    "litigation_or_arbitration": "该事项已进入司法程序，不属于热线受理范围",
    "outside_jurisdiction": "诉求事项发生在外地，不属于本市管辖",
}
DOWNWARD_TRANSFER_REASON = "转社区网格员现场处置"
SUSPEND_REASONS = ("需等待业主大会表决", "涉及多部门协调，等待会商结果", "诉求人暂时无法联系", "需等待施工条件具备")
EXTENSION_REASONS = ("需协调施工单位，申请延期办理", "涉及资金审批，需延长办理时限")
REOPEN_REASONS = ("回访诉求人表示问题未解决", "诉求人不认可办理结果")


def ping_pong_reason(rng: random.Random, other_office_name: str) -> str:
    return rng.choice(("经核实，该事项应由{name}办理", "该问题属于{name}职责，请转{name}", "不属于本单位职责，建议由{name}处理")).format(
        name=other_office_name
    )

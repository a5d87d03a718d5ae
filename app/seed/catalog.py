"""Static tables of the demo university: who it is, its colleges and labs, the names its staff are
drawn from, its innovation platforms, customers, training topics, not-for-sharing reasons and the
fee items its standards are built from. Instrument templates live in instrument_catalog.py.

Order matters: the seed draws from these tuples with `random.Random(2026)`, so reordering or
editing an entry changes the generated data.
"""

SCHOOL_CODE = "HNU-DEMO"
SCHOOL_NAME = "湖南示范大学"
MAIL_DOMAIN = "hnu-demo.edu.cn"
# the college_admin and lab_admin demo accounts are bound to these, and the lab gets the showcase
DEMO_COLLEGE_CODE = "C01"
DEMO_LAB_CODE = "C01-L01"
DEMO_CAMPUS_LAB_CODE = "C02-L02"  # campus_user's research group: another college's lab than lab_admin's

# colleges: key, code, name, building, disciplines, labs
COLLEGES = (
    ("chem", "C01", "化学化工学院", "化学楼", ("化学", "化学工程与技术"), (
        "分析测试中心", "精细化工与绿色催化实验室", "化学生物传感与计量学实验室",
        "高分子合成与功能材料实验室", "能源化学与电化学实验室",
    )),
    ("mat", "C02", "材料科学与工程学院", "材料楼", ("材料科学与工程", "冶金工程"), (
        "先进金属材料实验室", "纳米材料与器件实验室", "先进陶瓷与复合材料实验室",
        "材料微结构表征平台", "新能源材料实验室", "高分子材料成型加工实验室",
    )),
    ("bio", "C03", "生命科学学院", "生命科学楼", ("生物学", "生态学", "生物医学工程"), (
        "分子生物学实验室", "细胞生物学与成像平台", "植物生理与基因组学实验室",
        "微生物与发酵工程实验室", "生态与环境生物学实验室",
    )),
    ("phy", "C04", "物理与电子科学学院", "物理楼", ("物理学", "电子科学与技术", "光学工程"), (
        "凝聚态物理实验室", "超快光学与光谱实验室", "微纳电子器件实验室",
        "量子信息与精密测量实验室", "电子测量与射频实验室",
    )),
    ("civil", "C05", "土木工程学院", "土木工程实验大楼", ("土木工程", "力学", "环境科学与工程"), (
        "结构工程实验室", "岩土工程实验室", "风工程与桥梁实验室",
        "建筑材料实验室", "环境工程与水处理实验室",
    )),
    ("med", "C06", "医学院", "基础医学楼", ("基础医学", "临床医学", "药学"), (
        "医学功能实验中心", "分子医学与精准医学实验室", "药理与毒理学实验室",
        "病理学与医学影像实验室", "实验动物中心", "临床检验研究室",
    )),
    ("info", "C07", "信息科学与工程学院", "信息科学楼", ("计算机科学与技术", "信息与通信工程", "电子科学与技术"), (
        "高性能计算中心", "智能感知与物联网实验室", "微波与射频通信实验室", "集成电路设计与测试实验室",
    )),
)

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("黄", "huang"),
    ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"),
    ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"), ("罗", "luo"), ("高", "gao"), ("彭", "peng"),
    ("曾", "zeng"), ("谢", "xie"), ("邓", "deng"), ("唐", "tang"), ("蒋", "jiang"), ("肖", "xiao"), ("廖", "liao"),
    ("龙", "long"), ("贺", "he"), ("谭", "tan"), ("欧阳", "ouyang"), ("易", "yi"), ("邹", "zou"), ("田", "tian"),
)
GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
    ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("华", "hua"), ("平", "ping"), ("刚", "gang"),
    ("志强", "zhiqiang"), ("建华", "jianhua"), ("海燕", "haiyan"), ("晓东", "xiaodong"), ("文博", "wenbo"),
    ("思远", "siyuan"), ("雨桐", "yutong"), ("子涵", "zihan"), ("浩然", "haoran"), ("嘉怡", "jiayi"),
    ("俊杰", "junjie"), ("丹", "dan"), ("琳", "lin"), ("斌", "bin"), ("鹏", "peng"), ("晨", "chen"), ("瑶", "yao"),
    ("宇航", "yuhang"), ("立新", "lixin"), ("振华", "zhenhua"), ("红梅", "hongmei"), ("雪", "xue"), ("凯", "kai"),
    ("旭", "xu"), ("亮", "liang"), ("婷", "ting"), ("慧敏", "huimin"), ("国庆", "guoqing"),
)
MOBILE_PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "182", "183", "187", "188",
                   "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "199", "177", "173")
OWNER_POSTS = ("教授", "副教授", "研究员", "副研究员", "高级实验师", "正高级实验师")
TECH_POSTS = ("实验师", "高级实验师", "工程师", "高级工程师", "助理实验师")

# platforms: name, kind, level, unit code, networked?
PLATFORMS = (
    ("化学生物传感与计量学国家重点实验室（示范大学分室）", "key_lab", "national", "C01-L03", True),
    ("湖南省先进催化材料重点实验室", "key_lab", "provincial", "C01-L02", True),
    ("湖南省绿色化工技术创新中心", "tech_innovation_center", "provincial", "C01", True),
    ("湘江新材料省实验室示范大学研究基地", "provincial_lab", "provincial", "C02", True),
    ("纳米材料与器件湖南省重点实验室", "key_lab", "provincial", "C02-L02", True),
    ("湖南洞庭湖湿地生态系统野外科学观测研究站", "field_station", "provincial", "C03-L05", False),
    ("湖南省植物功能基因组学重点实验室", "key_lab", "provincial", "C03-L03", True),
    ("湖南省超快光学与光谱技术重点实验室", "key_lab", "provincial", "C04-L02", True),
    ("土木工程防灾减灾湖南省重点实验室", "key_lab", "provincial", "C05", True),
    ("湖南省新型建材技术创新中心", "tech_innovation_center", "provincial", "C05-L04", False),
    ("长沙市建筑结构健康监测工程技术研究中心", "other", "municipal", "C05-L01", False),
    ("湖南省心血管疾病临床医学研究中心", "clinical_center", "provincial", "C06", True),
    ("湖南省肿瘤精准医学临床医学研究中心", "clinical_center", "provincial", "C06-L02", False),
    ("长沙市生物医药分析检测公共服务平台", "other", "municipal", "C06-L03", True),
    ("湖南省智能感知与计算重点实验室", "key_lab", "provincial", "C07-L02", True),
    ("示范大学分析测试公共平台", "other", "school", "C01-L01", False),
)

# customer organisations: name, category, affiliated, (credit code prefix, organisation code body)
CUSTOMERS = (
    ("湖南星辰新材料科技有限公司", "enterprise", False, ("91430100", "MA4L2B8R")),
    ("株洲精工检测技术有限公司", "enterprise", False, ("91430200", "MA4R7T9K")),
    ("长沙麓谷示范生物医药有限公司", "enterprise", True, ("91430100", "MA4PK37N")),
    ("湖南省农业科学院作物研究所", "academic", False, ("12430000", "44876012")),
    ("中南示范理工大学", "academic", False, ("12430000", "44880297")),
    ("“智测未来”大学生创业团队", "student_startup", False, None),
    ("湖南示范大学校内课题组", "campus", True, None),
)
DEMO_ENTERPRISE = CUSTOMERS[0][0]

TRAINING_TOPICS = {
    "school": (
        "2026年度科研设施与仪器开放共享政策宣贯培训（湘科发〔2025〕143号解读）",
        "省科研设施与仪器共享服务平台入网与信息动态更新操作培训",
    ),
    "college": (
        "学院大型仪器开放共享管理与收费标准核算培训",
        "学院仪器设备安全操作与应急处置培训",
        "仪器物联网终端安装使用与机时自动采集培训",
    ),
    "lab": (
        "实验室仪器操作规程与预约服务流程培训",
        "实验室安全与仪器日常维护保养培训",
        "送样检测服务规范与数据质量控制培训",
    ),
}

UNSUITABLE_REASONS = {
    "classified": ("该设备用于承担国防科研涉密项目，按保密管理规定不得对外开放共享。",
                   "设备存储和处理涉密科研数据，经学校保密委员会认定为涉密设备。"),
    "teaching": ("该设备为本科实验教学专用设备，教学计划已排满全年有效机时，无富余机时对外开放。",
                 "设备为研究生实验课程专用，配置与精度仅满足教学演示需要，不具备对外测试服务条件。"),
    "medical": ("该设备为附属医院临床诊断治疗专用设备，涉及患者诊疗安全与隐私，不宜对外开放共享。",
                "设备用于临床样本检测，须满足医疗器械使用管理规定，不对校外开放。"),
    "other": ("设备位于生物安全二级实验室内，涉及病原微生物操作，不宜对外开放。",
              "设备使用年限较长、精度下降，已申请报废处置，不具备对外开放条件。"),
}

PRICING_METHOD = {
    "hour": "按成本补偿和非营利原则核定。单价＝仪器使用费（年折旧额÷年额定机时）＋耗材费＋水电运行费（年度水电运行总额×共享机时占比÷共享机时）＋技术服务费；按机时计费，不足 1 小时按 1 小时计，超过 1 小时按 0.5 小时累进。",
    "sample": "按成本补偿和非营利原则核定。单价＝仪器使用费（年折旧额÷年额定样品数）＋耗材费＋水电运行费（按共享机时占比分摊）＋技术服务费；按样品计费，制样另计。",
    "element": "按成本补偿和非营利原则核定。单价＝仪器使用费＋标准物质与耗材费＋水电运行费（按共享机时占比分摊）＋技术服务费；按样品中测定元素个数计费，样品消解另计。",
    "day": "按成本补偿和非营利原则核定。单价＝设施使用费（年折旧额÷年额定开放天数）＋耗材费＋水电运行费（按共享使用天数占比分摊）＋技术服务费；按天计费，不足半天按半天计。",
}
FEE_ITEMS = {
    # main item, then optional extra items: name, billing unit, cost factor against the main usage cost
    "hour": (("上机测试", "小时", 1.0), (("数据处理与分析", "次", 0.5), ("制样", "样品", 0.3))),
    "sample": (("常规测试", "样品", 1.0), (("制样", "样品", 0.3), ("加急测试", "样品", 1.5))),
    "element": (("元素分析", "元素", 1.0), (("样品消解", "样品", 0.6), ("数据处理与分析", "次", 0.4))),
    "day": (("设施使用", "天", 1.0), (("技术服务", "小时", 0.05), ("试验方案设计", "次", 0.3))),
}
# what a use counts of each billing unit (app/services/money/pricing.py); an element count is entered by the lab
QUANTITY_BASIS_OF = {"小时": "hours", "天": "days", "样品": "samples", "次": "per_use"}
PRICE_FACTORS = (("campus", 1.0), ("academic", 1.2), ("enterprise", 1.5), ("student_startup", 1.0))
DIFFERENCE_REASONS = {
    "academic": "校外高校及科研院所用户需额外承担样品登记、数据传递与协调服务成本，按成本补偿原则上浮 20%。",
    "enterprise": "企业用户测试需出具正式报告并承担相应技术服务与管理成本，按成本补偿原则上浮 50%，不以营利为目的。",
}

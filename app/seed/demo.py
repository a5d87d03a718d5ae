"""The demo university (SPEC §5): `flask --app app seed-demo`.

A fictitious 湖南示范大学 with colleges, laboratories, staff, innovation platforms, a few
hundred instruments (or many thousands for the benchmark), fee standards, IoT terminals,
training sessions, not-for-sharing filings, customer organisations and the four demo accounts.

Everything is drawn from `random.Random(2026)`, so two runs on empty databases produce the same
data. Some records are deliberately wrong (malformed contacts, missing fields, unnetworked
instruments that must be networked, unnetworked provincial platforms) so the compliance screens
have something to find. Seeding is idempotent: once the school unit exists, only the demo
accounts are (re)checked.
"""
from __future__ import annotations

import math
import random
import time
import zlib
from collections import namedtuple
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import (
    CustomerOrg,
    FeeItem,
    FeeItemComponent,
    FeePrice,
    FeeStandard,
    InnovationPlatform,
    Instrument,
    InstrumentClass,
    IotTerminal,
    Person,
    ServiceUser,
    TrainingSession,
    Unit,
    UnsuitableFiling,
)

SCHOOL_CODE = "HNU-DEMO"
SCHOOL_NAME = "湖南示范大学"
MAIL_DOMAIN = "hnu-demo.edu.cn"
DEMO_PASSWORD = "demo-1234"  # demo data only (README)
DEMO_COLLEGE_CODE = "C01"
DEMO_LAB_CODE = "C01-L01"
SEED = 2026
BATCH = 2000

# the demo accounts: username, role, bound unit ("school" / "college" / "lab" / None), names, e-mail
ACCOUNTS = (
    ("school_admin", "SchoolAdmin", "school", "建国", "周", f"school_admin@{MAIL_DOMAIN}"),
    ("college_admin", "CollegeAdmin", "college", "海燕", "谭", f"college_admin@{MAIL_DOMAIN}"),
    ("lab_admin", "LabAdmin", "lab", "志强", "彭", f"lab_admin@{MAIL_DOMAIN}"),
    ("service_user", "ServiceUser", None, "洋", "刘", "liuyang@xingchen-materials.com"),
)


# --------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015) with its embedded organisation code (GB 11714-1997)
# --------------------------------------------------------------------------------------------
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body8: str) -> str:
    """8-character body + GB 11714 check character."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, ORG_WEIGHTS))
    check = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(first17: str) -> str:
    """17 characters + GB 32100 check character."""
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return first17 + CREDIT_CHARS[(31 - total % 31) % 31]


def make_credit_code(kind_and_region: str, org_body8: str) -> str:
    """e.g. make_credit_code("91430100", "MA4L2B8R") -> an 18-character valid code."""
    return credit_code(kind_and_region + organisation_code(org_body8))


# --------------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------------
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

# name, English name, preferred class code, colleges, value range (万元), fee profile, variants
# (model, manufacturer, country), main technical indicators, main functions
Tpl = namedtuple("Tpl", "name en cls colleges lo hi fee variants indicators functions")

INSTRUMENTS = (
    Tpl("场发射扫描电子显微镜", "Field Emission Scanning Electron Microscope", "010102", ("mat", "chem", "phy", "bio"), 150, 450, "hour",
        (("SU8010", "日立 Hitachi", "日本"), ("Sigma 300", "蔡司 Zeiss", "德国"), ("Apreo 2C", "赛默飞 Thermo Fisher Scientific", "美国"),
         ("JSM-IT800", "日本电子 JEOL", "日本")),
        "二次电子分辨率：0.8 nm @15 kV；1.1 nm @1 kV\n放大倍数：20～2,000,000×\n加速电压：0.1～30 kV\n配置能谱仪（EDS），元素分析范围 Be4～U92",
        "材料表面微观形貌观察；断口分析；微区成分定性与半定量分析；背散射电子成分衬度像"),
    Tpl("透射电子显微镜", "Transmission Electron Microscope", "010101", ("mat", "phy", "chem"), 500, 1500, "hour",
        (("Talos F200X", "赛默飞 Thermo Fisher Scientific", "美国"), ("JEM-2100F", "日本电子 JEOL", "日本"), ("Tecnai G2 F20", "FEI", "美国")),
        "点分辨率：0.24 nm\n线分辨率：0.10 nm\n加速电压：80～200 kV\nSTEM-HAADF 分辨率：0.16 nm\n配置 Super-X 能谱与电子能量损失谱（EELS）",
        "纳米材料形貌、晶体结构与缺陷分析；高分辨像；选区电子衍射；STEM 元素面分布"),
    Tpl("球差校正透射电子显微镜", "Aberration-corrected Transmission Electron Microscope", "010101", ("mat", "phy"), 1200, 1950, "hour",
        (("Titan Themis G2 300", "赛默飞 Thermo Fisher Scientific", "美国"), ("JEM-ARM300F2", "日本电子 JEOL", "日本")),
        "STEM 分辨率：≤0.06 nm @300 kV\n信息分辨率：0.08 nm\n加速电压：60～300 kV\n配置双球差校正器与单色器",
        "原子尺度结构与成分表征；界面与缺陷原子像；原子级元素分布与价态分析"),
    Tpl("冷冻透射电子显微镜", "Cryo Transmission Electron Microscope", "010101", ("bio", "med"), 900, 1900, "hour",
        (("Glacios", "赛默飞 Thermo Fisher Scientific", "美国"), ("CRYO ARM 200", "日本电子 JEOL", "日本")),
        "加速电压：200 kV\n信息分辨率：≤0.14 nm\n自动进样：12 个样品载网\n直接电子探测相机 Falcon 4i，4K×4K",
        "生物大分子冷冻样品筛选与单颗粒结构解析；冷冻电子断层成像"),
    Tpl("原子力显微镜", "Atomic Force Microscope", "010803", ("mat", "phy", "chem", "bio"), 50, 300, "hour",
        (("Dimension Icon", "布鲁克 Bruker", "美国"), ("MFP-3D Origin+", "牛津仪器 Asylum Research", "美国"), ("NX10", "帕克 Park Systems", "韩国")),
        "扫描范围：90 μm × 90 μm × 10 μm\n噪声水平：Z 向 <30 pm\n工作模式：轻敲、接触、PeakForce QNM、KPFM、C-AFM",
        "纳米尺度表面形貌、粗糙度测量；表面电势、导电性与力学性能测量"),
    Tpl("激光扫描共聚焦显微镜", "Confocal Laser Scanning Microscope", "010802", ("bio", "med"), 180, 500, "hour",
        (("LSM 980", "蔡司 Zeiss", "德国"), ("TCS SP8", "徕卡 Leica", "德国"), ("FV3000", "奥林巴斯 Olympus", "日本"), ("A1R HD25", "尼康 Nikon", "日本")),
        "激光器：405/488/561/639 nm\n扫描分辨率：最高 8192×8192 像素\n扫描速度：最高 13 fps（512×512）\n检测器：GaAsP 高灵敏度检测器\n配置活细胞培养系统",
        "细胞与组织多通道荧光成像；三维重构；活细胞长时程成像；FRAP、FRET 分析"),
    Tpl("液相色谱-质谱联用仪", "Liquid Chromatograph-Mass Spectrometer", "010201", ("chem", "bio", "med"), 200, 600, "sample",
        (("6545 Q-TOF", "安捷伦 Agilent", "美国"), ("Q Exactive Plus", "赛默飞 Thermo Fisher Scientific", "美国"),
         ("TripleTOF 6600+", "爱博才思 AB SCIEX", "美国"), ("Xevo TQ-XS", "沃特世 Waters", "美国")),
        "质量范围：m/z 50～3,200\n分辨率：≥40,000 FWHM（m/z 2722）\n质量精度：<1 ppm（内标）\n扫描速度：最高 50 谱/秒\n离子源：ESI / APCI",
        "有机小分子、天然产物、药物及代谢物的定性定量分析；蛋白质组与代谢组学分析"),
    Tpl("气相色谱-质谱联用仪", "Gas Chromatograph-Mass Spectrometer", "010201", ("chem", "bio", "civil"), 40, 200, "sample",
        (("7890B-5977B", "安捷伦 Agilent", "美国"), ("GCMS-QP2020 NX", "岛津 Shimadzu", "日本"), ("TSQ 9000", "赛默飞 Thermo Fisher Scientific", "美国")),
        "质量范围：m/z 1.5～1,090\n灵敏度：1 pg OFN 信噪比 ≥1,500:1\n柱温箱：室温+4 ℃～450 ℃\n配置顶空与热脱附进样器",
        "挥发性与半挥发性有机物定性定量分析；环境样品有机污染物检测"),
    Tpl("电感耦合等离子体质谱仪", "Inductively Coupled Plasma Mass Spectrometer", "010202", ("chem", "civil", "med", "mat"), 150, 400, "element",
        (("7900", "安捷伦 Agilent", "美国"), ("iCAP RQ", "赛默飞 Thermo Fisher Scientific", "美国"), ("NexION 2000", "珀金埃尔默 PerkinElmer", "美国")),
        "质量范围：2～260 amu\n检出限：大部分元素 <1 ng/L\n丰度灵敏度：≤1×10⁻⁶（低质量端）\n短期稳定性：RSD ≤3%",
        "痕量与超痕量元素定量分析；同位素比值测定；形态分析（联用 HPLC）"),
    Tpl("X射线衍射仪", "X-ray Diffractometer", "010301", ("mat", "chem", "phy", "civil"), 40, 300, "sample",
        (("D8 Advance", "布鲁克 Bruker", "德国"), ("SmartLab 9kW", "理学 Rigaku", "日本"), ("Empyrean", "马尔文帕纳科 Malvern Panalytical", "荷兰"),
         ("Ultima IV", "理学 Rigaku", "日本")),
        "测角仪半径：≥280 mm\n2θ 角度范围：-110°～168°\n最小步长：0.0001°\nX射线管：Cu 靶，最大功率 3 kW\n探测器：一维阵列探测器",
        "多晶粉末物相定性定量分析；晶粒尺寸与结晶度；薄膜掠入射衍射与残余应力分析"),
    Tpl("单晶X射线衍射仪", "Single Crystal X-ray Diffractometer", "010301", ("chem", "mat"), 250, 500, "sample",
        (("D8 Venture", "布鲁克 Bruker", "德国"), ("XtaLAB Synergy-S", "理学 Rigaku", "日本")),
        "光源：Mo/Cu 双微焦斑光源\n探测器：PHOTON III 光子计数探测器\n低温装置：100～400 K\n测角仪精度：≤0.01°",
        "单晶结构解析；绝对构型测定；分子与晶体结构精修"),
    Tpl("X射线光电子能谱仪", "X-ray Photoelectron Spectrometer", "010303", ("chem", "mat", "phy"), 300, 700, "sample",
        (("ESCALAB Xi+", "赛默飞 Thermo Fisher Scientific", "美国"), ("AXIS Supra+", "岛津-克雷托斯 Kratos", "英国"), ("PHI 5000 VersaProbe III", "爱发科-费 ULVAC-PHI", "日本")),
        "能量分辨率：≤0.45 eV（Ag 3d5/2）\n空间分辨率：≤20 μm\n真空度：≤5×10⁻⁸ Pa\n配置 Ar 团簇离子枪、UPS、角分辨附件",
        "固体表面元素组成与化学态分析；深度剖析；价带与功函数测定"),
    Tpl("核磁共振波谱仪", "Nuclear Magnetic Resonance Spectrometer", "010601", ("chem", "bio", "med"), 250, 900, "sample",
        (("AVANCE NEO 400", "布鲁克 Bruker", "瑞士"), ("AVANCE NEO 600", "布鲁克 Bruker", "瑞士"), ("JNM-ECZ500R", "日本电子 JEOL", "日本")),
        "磁场强度：9.4 T（400 MHz）\n探头：BBO 宽带探头，5 mm\n¹H 灵敏度：≥500:1（0.1% 乙基苯）\n变温范围：-150 ℃～+150 ℃\n配置 60 位自动进样器",
        "有机化合物结构鉴定；一维、二维谱测定；反应动力学与分子间相互作用研究"),
    Tpl("电子顺磁共振波谱仪", "Electron Paramagnetic Resonance Spectrometer", "010602", ("chem", "phy"), 150, 350, "sample",
        (("EMXplus", "布鲁克 Bruker", "德国"), ("JES-FA200", "日本电子 JEOL", "日本")),
        "频段：X 波段（9.2～9.9 GHz）\n灵敏度：1.5×10⁹ spins/G\n磁场范围：0～1.45 T\n变温范围：4～500 K",
        "自由基、过渡金属离子及缺陷的检测与表征；自旋捕获实验"),
    Tpl("傅里叶变换红外光谱仪", "Fourier Transform Infrared Spectrometer", "010403", ("chem", "mat", "bio"), 15, 150, "sample",
        (("Nicolet iS50", "赛默飞 Thermo Fisher Scientific", "美国"), ("VERTEX 70v", "布鲁克 Bruker", "德国"), ("Spectrum 3", "珀金埃尔默 PerkinElmer", "美国")),
        "光谱范围：7,800～350 cm⁻¹\n分辨率：优于 0.09 cm⁻¹\n信噪比：≥55,000:1（1 min 扫描）\n配置 ATR、漫反射与红外显微附件",
        "有机与无机化合物官能团定性分析；高分子材料鉴别；原位红外反应监测"),
    Tpl("激光显微拉曼光谱仪", "Laser Confocal Raman Spectrometer", "010404", ("chem", "mat", "phy"), 50, 300, "sample",
        (("LabRAM HR Evolution", "堀场 HORIBA", "法国"), ("inVia Qontor", "雷尼绍 Renishaw", "英国"), ("DXR3xi", "赛默飞 Thermo Fisher Scientific", "美国")),
        "激发波长：325/532/633/785 nm\n光谱分辨率：≤0.35 cm⁻¹\n空间分辨率：横向 ≤0.5 μm\n光谱范围：50～9,000 cm⁻¹",
        "物质分子结构与晶型分析；碳材料表征；拉曼面扫描成像；原位变温测试"),
    Tpl("荧光分光光度计", "Fluorescence Spectrophotometer", "010402", ("chem", "bio", "mat"), 10, 150, "sample",
        (("F-7100", "日立 Hitachi", "日本"), ("FluoroMax-4", "堀场 HORIBA", "美国"), ("FLS1000", "爱丁堡 Edinburgh Instruments", "英国"), ("RF-6000", "岛津 Shimadzu", "日本")),
        "波长范围：200～900 nm\n灵敏度：水拉曼峰信噪比 ≥1,200:1\n扫描速度：最高 60,000 nm/min\n配置荧光寿命与量子产率附件",
        "荧光激发与发射光谱测定；荧光寿命与量子产率测定；定量分析"),
    Tpl("紫外-可见-近红外分光光度计", "UV-Vis-NIR Spectrophotometer", "010401", ("chem", "mat", "phy"), 15, 120, "sample",
        (("Cary 5000", "安捷伦 Agilent", "美国"), ("UV-3600i Plus", "岛津 Shimadzu", "日本"), ("Lambda 1050+", "珀金埃尔默 PerkinElmer", "美国")),
        "波长范围：175～3,300 nm\n分辨率：≤0.05 nm（紫外-可见）\n杂散光：≤0.00007%T（220 nm）\n配置 150 mm 积分球",
        "溶液与固体样品吸收、透射与漫反射光谱测定；光学带隙测定"),
    Tpl("超高效液相色谱仪", "Ultra Performance Liquid Chromatograph", "010502", ("chem", "bio", "med"), 25, 150, "sample",
        (("ACQUITY UPLC H-Class", "沃特世 Waters", "美国"), ("Vanquish Flex", "赛默飞 Thermo Fisher Scientific", "美国"),
         ("1290 Infinity II", "安捷伦 Agilent", "美国"), ("LC-40D XR", "岛津 Shimadzu", "日本")),
        "耐压：≥1,300 bar\n流速范围：0.001～5 mL/min\n检测器：二极管阵列检测器、荧光检测器\n进样精度：RSD <0.25%",
        "药物、天然产物、食品及环境样品中有机组分的分离与定量分析"),
    Tpl("气相色谱仪", "Gas Chromatograph", "010501", ("chem", "civil"), 10, 60, "sample",
        (("8890", "安捷伦 Agilent", "美国"), ("GC-2030", "岛津 Shimadzu", "日本"), ("GC9790Plus", "浙江福立分析仪器", "中国")),
        "柱温箱：室温+4 ℃～450 ℃\n检测器：FID、TCD、ECD\n保留时间重复性：RSD <0.008%",
        "气体及挥发性有机物的分离与定量分析；催化反应产物分析"),
    Tpl("离子色谱仪", "Ion Chromatograph", "010503", ("chem", "civil"), 15, 80, "sample",
        (("Dionex ICS-6000", "赛默飞 Thermo Fisher Scientific", "美国"), ("930 Compact IC Flex", "瑞士万通 Metrohm", "瑞士")),
        "检测器：电导检测器、安培检测器\n淋洗液自动发生器\n检出限：Cl⁻ <1 μg/L",
        "水样及溶液中阴阳离子、有机酸、糖类的定性定量分析"),
    Tpl("热重分析仪", "Thermogravimetric Analyzer", "010901", ("mat", "chem"), 15, 80, "sample",
        (("TGA 5500", "TA 仪器 TA Instruments", "美国"), ("TG 209 F1 Libra", "耐驰 NETZSCH", "德国"), ("TGA/DSC 3+", "梅特勒-托利多 Mettler Toledo", "瑞士")),
        "温度范围：室温～1,100 ℃\n天平灵敏度：0.1 μg\n升温速率：0.1～100 ℃/min\n气氛：N₂、空气、Ar",
        "材料热稳定性、分解温度、组分含量分析；热分解动力学研究"),
    Tpl("差示扫描量热仪", "Differential Scanning Calorimeter", "010902", ("mat", "chem"), 15, 70, "sample",
        (("DSC 2500", "TA 仪器 TA Instruments", "美国"), ("DSC 214 Polyma", "耐驰 NETZSCH", "德国")),
        "温度范围：-180 ℃～725 ℃\n量热精度：±0.04%\n基线漂移：<10 μW\n配置调制 DSC",
        "熔融、结晶、玻璃化转变测定；比热容与反应热测定；氧化诱导期测定"),
    Tpl("同步热分析仪", "Simultaneous Thermal Analyzer", "010900", ("mat", "chem"), 40, 120, "sample",
        (("STA 449 F5 Jupiter", "耐驰 NETZSCH", "德国"), ("SDT 650", "TA 仪器 TA Instruments", "美国")),
        "温度范围：室温～1,600 ℃\n天平分辨率：0.025 μg\n可联用红外与质谱（TG-FTIR-MS）",
        "热重与差热同步分析；热分解逸出气体分析"),
    Tpl("比表面积及孔隙度分析仪", "Surface Area and Porosity Analyzer", "020502", ("mat", "chem", "civil"), 15, 80, "sample",
        (("ASAP 2460", "麦克默瑞提克 Micromeritics", "美国"), ("Autosorb-iQ", "安东帕康塔 Anton Paar Quantachrome", "美国"), ("BSD-660", "北京贝士德仪器", "中国")),
        "比表面积测定范围：≥0.0005 m²/g\n孔径分析范围：0.35～500 nm\n分析站：3 个独立分析站",
        "BET 比表面积测定；介孔、微孔孔径分布与孔体积分析；化学吸附"),
    Tpl("电化学工作站", "Electrochemical Workstation", "010701", ("chem", "mat", "phy"), 6, 60, "hour",
        (("CHI760E", "上海辰华仪器", "中国"), ("VersaSTAT 3F", "普林斯顿 Princeton Applied Research", "美国"),
         ("Autolab PGSTAT302N", "瑞士万通 Metrohm", "荷兰"), ("VSP-300", "Bio-Logic", "法国")),
        "电位范围：±10 V\n电流范围：±2 A\n电流分辨率：<1 pA\n交流阻抗频率范围：10 μHz～1 MHz",
        "循环伏安、线性扫描、恒电位/恒电流、电化学阻抗谱测试；腐蚀与电池材料评价"),
    Tpl("动态力学分析仪", "Dynamic Mechanical Analyzer", "020100", ("mat", "civil"), 20, 90, "sample",
        (("DMA 850", "TA 仪器 TA Instruments", "美国"), ("DMA 242 E Artemis", "耐驰 NETZSCH", "德国")),
        "温度范围：-150 ℃～600 ℃\n频率范围：0.01～200 Hz\n力范围：0.0001～18 N\n形变模式：拉伸、三点弯曲、剪切、压缩",
        "高分子及复合材料动态模量、损耗因子与玻璃化转变测定"),
    Tpl("电子万能材料试验机", "Universal Materials Testing Machine", "020101", ("mat", "civil"), 10, 150, "sample",
        (("5967", "英斯特朗 Instron", "美国"), ("Z100", "兹韦克 ZwickRoell", "德国"), ("CMT5105", "美特斯工业系统（中国）", "中国")),
        "最大试验力：100 kN\n力值精度：±0.5%\n横梁速度：0.001～1,000 mm/min\n配置高低温环境箱（-70 ℃～350 ℃）",
        "金属、高分子、复合材料拉伸、压缩、弯曲、剪切等力学性能测试"),
    Tpl("电液伺服疲劳试验机", "Servo-hydraulic Fatigue Testing System", "020102", ("mat", "civil"), 150, 500, "hour",
        (("Landmark 370.10", "美特斯 MTS", "美国"), ("8801", "英斯特朗 Instron", "英国")),
        "最大动态载荷：±100 kN\n频率范围：0.01～100 Hz\n作动器行程：±75 mm",
        "材料与构件的高低周疲劳、断裂韧性、裂纹扩展速率测试"),
    Tpl("激光粒度分析仪", "Laser Particle Size Analyzer", "020501", ("mat", "chem", "civil"), 15, 80, "sample",
        (("Mastersizer 3000", "马尔文帕纳科 Malvern Panalytical", "英国"), ("LS 13 320", "贝克曼库尔特 Beckman Coulter", "美国")),
        "测量范围：0.01～3,500 μm\n准确性：优于 ±0.6%（Dv50）\n湿法与干法进样",
        "粉体与乳液颗粒粒度分布测定"),
    Tpl("纳米粒度及Zeta电位分析仪", "Nanoparticle Size and Zeta Potential Analyzer", "020500", ("chem", "bio", "mat"), 15, 60, "sample",
        (("Zetasizer Nano ZS90", "马尔文帕纳科 Malvern Panalytical", "英国"), ("Litesizer 500", "安东帕 Anton Paar", "奥地利")),
        "粒径测量范围：0.3 nm～10 μm\nZeta 电位测量范围：-500～+500 mV\n分子量测量范围：980 Da～20 MDa",
        "纳米颗粒粒径分布、Zeta 电位与分子量测定"),
    Tpl("三维X射线显微镜", "3D X-ray Microscope (Micro-CT)", "010300", ("mat", "civil", "med", "bio"), 200, 900, "hour",
        (("Xradia 620 Versa", "蔡司 Zeiss", "美国"), ("SkyScan 1272", "布鲁克 Bruker", "比利时")),
        "空间分辨率：≤0.5 μm\n最小体素：40 nm\n射线源电压：30～160 kV\n样品尺寸：最大 300 mm",
        "材料、岩土与生物样品内部三维结构无损成像；孔隙与裂纹定量分析"),
    Tpl("流式细胞仪", "Flow Cytometer", "011001", ("bio", "med"), 80, 600, "sample",
        (("CytoFLEX S", "贝克曼库尔特 Beckman Coulter", "美国"), ("FACSCelesta", "碧迪 BD", "美国"),
         ("FACSAria III", "碧迪 BD", "美国"), ("NovoCyte Advanteon", "安捷伦 Agilent", "美国")),
        "激光器：405/488/561/638 nm\n荧光通道：≥13 色\n检测速度：≥35,000 事件/秒\n分选纯度：≥98%（分选型）",
        "细胞表型、细胞周期、凋亡分析；细胞分选；微球多因子检测"),
    Tpl("高内涵细胞成像分析系统", "High Content Imaging System", "010800", ("bio", "med"), 150, 400, "hour",
        (("Operetta CLS", "珀金埃尔默 PerkinElmer", "美国"), ("ImageXpress Micro Confocal", "美谷分子 Molecular Devices", "美国")),
        "成像模式：宽场、转盘共聚焦\n物镜：5×～63× 水镜\n通量：384 孔板全板 ≤5 min\n配置环境控制（温度、CO₂）",
        "高通量细胞表型筛选；药物筛选；活细胞动态成像与定量分析"),
    Tpl("实时荧光定量PCR仪", "Real-time Quantitative PCR System", "011003", ("bio", "med"), 10, 60, "sample",
        (("QuantStudio 5", "赛默飞 Thermo Fisher Scientific", "美国"), ("CFX Opus 96", "伯乐 Bio-Rad", "美国"), ("LightCycler 480 II", "罗氏 Roche", "瑞士")),
        "检测通道：5～6 色\n样品通量：96 孔\n温控精度：±0.1 ℃\n动态范围：10 个数量级",
        "基因表达定量分析；病原体检测；SNP 分型；拷贝数分析"),
    Tpl("超速离心机", "Ultracentrifuge", "011200", ("bio", "med"), 40, 120, "hour",
        (("Optima XPN-100", "贝克曼库尔特 Beckman Coulter", "美国"), ("Sorvall WX+ 100", "赛默飞 Thermo Fisher Scientific", "美国")),
        "最高转速：100,000 rpm\n最大离心力：802,000×g\n温控范围：0～40 ℃",
        "病毒、外泌体、细胞器及生物大分子的分离纯化与密度梯度离心"),
    Tpl("多功能酶标仪", "Multimode Microplate Reader", "011000", ("bio", "med", "chem"), 10, 80, "sample",
        (("Spark", "帝肯 Tecan", "瑞士"), ("SpectraMax i3x", "美谷分子 Molecular Devices", "美国"), ("Synergy H1", "伯腾 BioTek", "美国")),
        "检测模式：吸光、荧光、化学发光、时间分辨荧光\n波长范围：200～1,000 nm\n板型：6～1,536 孔板",
        "ELISA、细胞活力、酶动力学及高通量筛选检测"),
    Tpl("小动物活体成像系统", "In Vivo Imaging System", "130101", ("med", "bio"), 200, 400, "hour",
        (("IVIS Spectrum", "珀金埃尔默 PerkinElmer", "美国"), ("NightOWL LB983", "伯托 Berthold", "德国")),
        "成像模式：生物发光、荧光、3D 断层\n激发滤光片：10 个（415～760 nm）\n最小检测：<100 个细胞（生物发光）",
        "小动物体内肿瘤生长、转移及药物分布的无创动态监测"),
    Tpl("小动物超高分辨率超声成像系统", "High-frequency Ultrasound Imaging System", "130100", ("med",), 250, 450, "hour",
        (("Vevo 3100", "富士胶片 VisualSonics", "加拿大"),),
        "探头频率：15～70 MHz\n轴向分辨率：≤30 μm\n帧频：最高 740 fps",
        "小动物心血管、肿瘤及胚胎发育的超声影像与功能评价"),
    Tpl("全自动生化分析仪", "Automatic Biochemistry Analyzer", "130200", ("med",), 80, 250, "sample",
        (("7180", "日立 Hitachi", "日本"), ("AU5800", "贝克曼库尔特 Beckman Coulter", "美国")),
        "测试速度：≥800 测试/小时\n样品位：≥150 个\n反应体积：80～240 μL",
        "血清、尿液等样本生化指标的自动化检测"),
    Tpl("膜片钳系统", "Patch Clamp System", "150100", ("med", "bio"), 80, 200, "hour",
        (("Axon MultiClamp 700B", "美谷分子 Molecular Devices", "美国"), ("EPC 10 USB", "哈佛生物 HEKA", "德国")),
        "电流噪声：<0.1 pA RMS（0.1～5 kHz）\n记录模式：电压钳、电流钳\n配置显微操作与灌流系统",
        "离子通道电生理记录；神经元与心肌细胞电活动研究"),
    Tpl("高性能计算集群", "High Performance Computing Cluster", "110100", ("info", "phy", "chem", "civil"), 200, 1500, "hour",
        (("TC6600", "中科曙光", "中国"), ("NF5280M6 集群", "浪潮电子信息", "中国"), ("ThinkSystem SD650 集群", "联想", "中国")),
        "计算节点：128 个（双路 64 核 Xeon Platinum 处理器）\n总峰值计算能力：≥600 TFLOPS\nGPU 节点：8 个（每节点 8 块 80 GB GPU）\n并行存储：2 PB，聚合带宽 ≥40 GB/s\n互联网络：200 Gb/s InfiniBand",
        "大规模科学计算、分子模拟、计算流体力学与人工智能模型训练"),
    Tpl("GPU深度学习服务器", "GPU Deep Learning Server", "110100", ("info",), 120, 500, "hour",
        (("DGX A100", "英伟达 NVIDIA", "美国"), ("NF5688M6", "浪潮电子信息", "中国")),
        "GPU：8 块 A100 80 GB，NVLink 互联\nAI 算力：5 PFLOPS（FP16）\n内存：2 TB\n存储：30 TB NVMe",
        "深度学习模型训练与推理；大规模并行计算"),
    Tpl("矢量网络分析仪", "Vector Network Analyzer", "040103", ("info", "phy"), 100, 500, "hour",
        (("N5227B PNA", "是德科技 Keysight", "美国"), ("ZNA67", "罗德与施瓦茨 Rohde & Schwarz", "德国")),
        "频率范围：10 MHz～67 GHz\n动态范围：≥120 dB\n端口数：4 端口\n配置在片测试探针台",
        "射频与微波器件 S 参数测试；天线与滤波器特性测量"),
    Tpl("频谱分析仪", "Signal and Spectrum Analyzer", "040102", ("info", "phy"), 60, 250, "hour",
        (("FSW43", "罗德与施瓦茨 Rohde & Schwarz", "德国"), ("N9030B PXA", "是德科技 Keysight", "美国")),
        "频率范围：2 Hz～43.5 GHz\n分析带宽：最高 2 GHz\n显示平均噪声电平：≤-156 dBm/Hz",
        "信号频谱、相位噪声、调制质量与杂散分析"),
    Tpl("高速数字示波器", "High-speed Digital Oscilloscope", "040101", ("info", "phy"), 10, 300, "hour",
        (("MSO64B", "泰克 Tektronix", "美国"), ("UXR0334A", "是德科技 Keysight", "美国"), ("MSO8204", "普源精电 RIGOL", "中国")),
        "带宽：2～33 GHz\n采样率：最高 128 GSa/s\n垂直分辨率：10～12 bit",
        "高速信号完整性分析；眼图与抖动测试；电源完整性测量"),
    Tpl("半导体参数分析仪", "Semiconductor Parameter Analyzer", "040100", ("phy", "info", "mat"), 60, 200, "hour",
        (("B1500A", "是德科技 Keysight", "美国"), ("4200A-SCS", "吉时利 Keithley", "美国")),
        "电流分辨率：0.1 fA\n电压范围：±200 V\n配置 C-V、脉冲 I-V 模块与探针台",
        "半导体器件 I-V、C-V 特性与可靠性测试"),
    Tpl("综合物性测量系统", "Physical Property Measurement System", "150100", ("phy", "mat"), 300, 800, "hour",
        (("PPMS DynaCool-9", "量子设计 Quantum Design", "美国"),),
        "温度范围：1.8～400 K\n磁场范围：±9 T\n测量选件：电输运、比热、VSM 磁性、热输运",
        "低温强磁场下材料电学、磁学与热学性能测量"),
    Tpl("飞秒激光器", "Femtosecond Laser System", "090400", ("phy", "chem"), 150, 500, "hour",
        (("Astrella", "相干 Coherent", "美国"), ("Solstice Ace", "光谱物理 Spectra-Physics", "美国"), ("PHAROS", "光转换 Light Conversion", "立陶宛")),
        "脉冲宽度：<35 fs\n单脉冲能量：≥7 mJ\n重复频率：1 kHz\n中心波长：800 nm",
        "超快光谱、泵浦-探测实验；飞秒激光微纳加工"),
    Tpl("电感耦合等离子体发射光谱仪", "Inductively Coupled Plasma Optical Emission Spectrometer", "010406", ("chem", "civil", "mat"), 50, 150, "element",
        (("Avio 500", "珀金埃尔默 PerkinElmer", "美国"), ("5110", "安捷伦 Agilent", "澳大利亚"), ("iCAP PRO", "赛默飞 Thermo Fisher Scientific", "美国")),
        "波长范围：165～782 nm\n检出限：多数元素 <10 μg/L\n观测方式：垂直双向观测",
        "金属元素及部分非金属元素的多元素同时定量分析"),
    Tpl("原子吸收光谱仪", "Atomic Absorption Spectrometer", "010405", ("chem", "civil"), 15, 60, "element",
        (("AA-7000", "岛津 Shimadzu", "日本"), ("PinAAcle 900T", "珀金埃尔默 PerkinElmer", "美国")),
        "波长范围：185～900 nm\n原子化方式：火焰、石墨炉\n特征浓度：Cu ≤0.025 μg/mL（火焰）",
        "金属元素定量分析；环境与食品中重金属检测"),
    Tpl("有机元素分析仪", "Organic Elemental Analyzer", "010400", ("chem",), 30, 80, "element",
        (("vario EL cube", "元素 Elementar", "德国"), ("FlashSmart", "赛默飞 Thermo Fisher Scientific", "意大利")),
        "分析元素：C、H、N、S、O\n测量精度：≤0.1% abs\n样品量：0.02～1,000 mg",
        "有机物及材料中碳、氢、氮、硫、氧元素含量测定"),
    Tpl("三维激光扫描仪", "Terrestrial 3D Laser Scanner", "020200", ("civil",), 40, 120, "day",
        (("RTC360", "徕卡 Leica", "瑞士"), ("FARO Focus Premium", "法如 FARO", "美国")),
        "测距范围：0.5～130 m\n测距精度：1.0 mm + 10 ppm\n扫描速度：200 万点/秒",
        "建筑与桥梁结构三维数字化测量；变形监测"),
    Tpl("动态信号测试分析系统", "Dynamic Signal Test and Analysis System", "020400", ("civil",), 8, 40, "day",
        (("DH5922N", "江苏东华测试技术", "中国"), ("SCADAS Mobile", "西门子 Siemens", "比利时")),
        "通道数：32 通道\n采样频率：最高 256 kHz/通道\nA/D 分辨率：24 bit",
        "结构振动、应变与冲击信号采集及模态分析"),
    Tpl("岩石三轴试验系统", "Rock Triaxial Testing System", "020100", ("civil",), 150, 400, "sample",
        (("RTR-2000", "GCTS", "美国"), ("TAW-2000", "长春朝阳试验仪器", "中国")),
        "最大轴向力：2,000 kN\n最大围压：140 MPa\n孔隙水压：140 MPa\n温度：室温～200 ℃",
        "岩石与土体三轴压缩、蠕变、渗流-应力耦合试验"),
    Tpl("紫外光刻机", "UV Mask Aligner", "100102", ("phy", "info", "mat"), 150, 500, "hour",
        (("MA6 Gen4", "苏斯 SUSS MicroTec", "德国"), ("MABA6", "苏斯 SUSS MicroTec", "德国")),
        "曝光波长：365/405 nm\n分辨率：≤0.8 μm\n对准精度：±0.5 μm\n晶圆尺寸：最大 6 英寸",
        "微纳器件光刻图形转移；双面对准曝光"),
    Tpl("磁控溅射镀膜系统", "Magnetron Sputtering System", "100101", ("mat", "phy"), 50, 200, "hour",
        (("PVD 75", "库特莱思科 Kurt J. Lesker", "美国"), ("JGP-560", "沈阳科学仪器", "中国")),
        "本底真空：≤5×10⁻⁵ Pa\n靶位：4 个（直流/射频）\n基片加热：室温～800 ℃\n膜厚均匀性：±3%（4 英寸）",
        "金属、氧化物、氮化物薄膜制备"),
    Tpl("等离子体增强化学气相沉积系统", "Plasma Enhanced Chemical Vapor Deposition System", "100101", ("phy", "info", "mat"), 150, 400, "hour",
        (("PlasmaPro 100", "牛津仪器 Oxford Instruments", "英国"), ("PD-220NL", "莎姆克 SAMCO", "日本")),
        "射频功率：0～600 W\n基片温度：室温～400 ℃\n膜厚均匀性：≤±3%",
        "SiO₂、SiNₓ、非晶硅等薄膜低温沉积"),
)

FACILITIES = (
    Tpl("结构工程多功能加载试验系统", "Multi-functional Structural Loading Test System", "020100", ("civil",), 800, 2000, "day",
        (("MTS 201.70 作动器组", "美特斯 MTS", "美国"), ("自主集成", "湖南示范大学", "中国")),
        "反力墙：高 12 m，长 18 m\n反力地板：36 m × 18 m\n作动器：最大出力 5,000 kN\n多通道协调加载控制系统",
        "大型结构构件与节点拟静力、拟动力加载试验"),
    Tpl("地震模拟振动台", "Earthquake Simulation Shaking Table", "020400", ("civil",), 1000, 2000, "day",
        (("三向六自由度 4 m×4 m", "美特斯 MTS", "美国"),),
        "台面尺寸：4 m × 4 m\n最大负载：30 t\n频率范围：0.1～50 Hz\n满载最大加速度：水平 1.5 g",
        "建筑与桥梁结构模型地震模拟试验"),
    Tpl("大气边界层风洞", "Boundary Layer Wind Tunnel", "150100", ("civil",), 600, 1800, "day",
        (("HD-3 直流式", "湖南示范大学", "中国"),),
        "试验段：3 m × 2.5 m × 15 m\n风速范围：0.5～30 m/s\n湍流度：<0.5%",
        "建筑与桥梁结构风荷载、风致振动及风环境试验"),
    Tpl("中试放大实验平台", "Pilot-scale Chemical Process Platform", "100200", ("chem",), 300, 1200, "day",
        (("自主集成", "湖南示范大学", "中国"),),
        "反应釜：50～500 L（搪玻璃、不锈钢）\n精馏塔：理论塔板数 ≥30\nDCS 集散控制系统",
        "化工工艺放大与中试验证；新材料公斤级制备"),
    Tpl("SPF级实验动物设施", "Specific Pathogen Free Animal Facility", "150100", ("med", "bio"), 500, 1500, "day",
        (("IVC 独立通风笼具系统", "苏州市冯氏实验动物设备", "中国"),),
        "屏障环境面积：1,200 m²\n饲养容量：小鼠 8,000 笼\n洁净度：7 级\n温度 20～26 ℃，湿度 40%～70%",
        "SPF 级啮齿类实验动物饲养、繁育与动物实验"),
    Tpl("微纳加工洁净平台", "Micro/Nano Fabrication Cleanroom", "100100", ("phy", "info", "mat"), 800, 2000, "day",
        (("千级/百级洁净室", "中国电子系统工程第二建设", "中国"),),
        "洁净面积：800 m²（千级，黄光区百级）\n配置光刻、刻蚀、镀膜、键合等工艺设备 30 余台套",
        "半导体与微纳器件全流程工艺加工"),
    Tpl("超算中心计算设施", "Supercomputing Facility", "110100", ("info",), 1000, 2000, "hour",
        (("曙光 硅立方", "中科曙光", "中国"),),
        "峰值性能：≥3 PFLOPS\n节点数：1,024 个\n存储：10 PB\n浸没式液冷，PUE ≤1.2",
        "全校及区域科学计算、数值模拟与人工智能计算服务"),
)

COLLEGE_FACILITY = {"chem": (3,), "civil": (0, 1, 2), "med": (4,), "bio": (4,), "phy": (5,), "info": (5, 6), "mat": (5,)}

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
PRICE_FACTORS = (("campus", 1.0), ("academic", 1.2), ("enterprise", 1.5), ("student_startup", 1.0))
DIFFERENCE_REASONS = {
    "academic": "校外高校及科研院所用户需额外承担样品登记、数据传递与协调服务成本，按成本补偿原则上浮 20%。",
    "enterprise": "企业用户测试需出具正式报告并承担相应技术服务与管理成本，按成本补偿原则上浮 50%，不以营利为目的。",
}

TODAY_CAP = date(2026, 4, 30)  # latest purchase / acceptance date generated
CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def _ceil_yuan(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1"), rounding=ROUND_CEILING).quantize(CENT)


def _stable_index(text: str, n: int) -> int:
    return zlib.crc32(text.encode("utf-8")) % n


class _Lab:
    """Plain bookkeeping for one generated lab (ids only, so the ORM objects may be released)."""

    __slots__ = ("unit", "code", "college_key", "college_code", "building", "zone", "floor", "person_ids",
                 "owners", "platform_ids", "weight", "email")

    def __init__(self, unit, code, college_key, college_code, building, zone, floor):
        self.unit = unit
        self.code = code
        self.college_key = college_key
        self.college_code = college_code
        self.building = building
        self.zone = zone
        self.floor = floor
        self.person_ids = []
        self.owners = []  # (id, mobile, email) of instrument responsible persons
        self.platform_ids = []
        self.weight = 1.0
        self.email = f"lab-{code.lower()}@{MAIL_DOMAIN}"


class _DemoBuilder:
    def __init__(self, session, sm, instruments: int):
        self.session = session
        self.sm = sm
        self.n_instruments = max(int(instruments), 0)
        self.rng = random.Random(SEED)
        self.counts = {}
        self.used_names = set()
        self.used_emails = set()

    # ---------------------------------------------------------------- helpers
    def _date_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def _datetime_on(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, self.rng.randint(8, 17), self.rng.randint(0, 59))

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99999999):08d}"

    def _person_name(self):
        rng = self.rng
        for _ in range(50):
            surname, s_py = rng.choice(SURNAMES)
            given, g_py = rng.choice(GIVEN)
            if rng.random() < 0.35 and len(given) == 1:
                extra, e_py = rng.choice(GIVEN)
                if len(extra) == 1:
                    given, g_py = given + extra, g_py + e_py
            name = surname + given
            if name not in self.used_names:
                break
        self.used_names.add(name)
        local = s_py + g_py
        email_local, n = local, 1
        while email_local in self.used_emails:
            n += 1
            email_local = f"{local}{n}"
        self.used_emails.add(email_local)
        return name, f"{email_local}@{MAIL_DOMAIN}"

    # ---------------------------------------------------------------- build
    def build(self):
        t0 = time.perf_counter()
        self._class_codes()
        self._units()
        self._people()
        self._platforms()
        self._customers()
        # the four demo accounts, with the service_user account's own ServiceUser row (SPEC §5)
        self.users = _ensure_accounts(self.session, self.sm, self.school, self.demo_college, self.demo_lab_unit,
                                      self.enterprise)[0]
        self._instruments()
        self._trainings()
        self.session.flush()
        self.counts["seconds"] = round(time.perf_counter() - t0, 2)
        return self.counts

    def _class_codes(self):
        codes = sorted(self.session.scalars(sa.select(InstrumentClass.code)).all())
        self.class_codes = set(codes)
        self.subclasses = [c for c in codes if not c.endswith("0000")]
        self._class_cache = {}

    def _class_for(self, tpl) -> str | None:
        key = tpl.cls + tpl.name
        if key in self._class_cache:
            return self._class_cache[key]
        code = None
        top = tpl.cls[:2]
        if tpl.cls in self.class_codes and not tpl.cls.endswith("0000"):
            code = tpl.cls
        else:
            same_top = [c for c in self.subclasses if c.startswith(top)]
            if same_top:
                # a subclass of the same top class, chosen by name (stable whatever the DB holds)
                code = same_top[_stable_index(tpl.name, len(same_top))]
            elif top + "0000" in self.class_codes:
                code = top + "0000"
            elif self.subclasses:
                code = self.subclasses[_stable_index(tpl.name, len(self.subclasses))]
            elif self.class_codes:
                code = sorted(self.class_codes)[0]
        self._class_cache[key] = code
        return code

    def _units(self):
        rng, session = self.rng, self.session
        self.school = Unit(code=SCHOOL_CODE, name=SCHOOL_NAME, level="school", address="湖南省长沙市岳麓区示范大学路 1 号",
                           remarks="演示数据：虚构高校")
        session.add(self.school)
        session.flush()
        colleges = []
        for key, code, name, building, _disc, _labs in COLLEGES:
            colleges.append(Unit(code=code, name=name, level="college", parent=self.school,
                                 address=f"湖南省长沙市岳麓区示范大学路 1 号{building}"))
        session.add_all(colleges)
        session.flush()
        self.college_units = {c.code: c for c in colleges}
        self.college_key = {code: key for key, code, *_ in COLLEGES}
        labs, self.labs = [], []
        for (key, code, _name, building, _disc, lab_names), college in zip(COLLEGES, colleges):
            for i, lab_name in enumerate(lab_names, start=1):
                lab_code = f"{code}-L{i:02d}"
                zone = "ABCD"[(i - 1) % 4]
                floor = rng.randint(1, 6)
                unit = Unit(code=lab_code, name=lab_name, level="lab", parent=college,
                            address=f"{building}{zone}区{floor}楼")
                labs.append(unit)
                lab = _Lab(unit, lab_code, key, code, building, zone, floor)
                lab.weight = rng.uniform(0.6, 1.4)
                self.labs.append(lab)
        session.add_all(labs)
        session.flush()
        self.lab_by_code = {lab.code: lab for lab in self.labs}
        self.demo_college = self.college_units[DEMO_COLLEGE_CODE]
        self.demo_lab = self.lab_by_code[DEMO_LAB_CODE]
        self.demo_lab_unit = self.demo_lab.unit
        self.counts["units"] = 1 + len(colleges) + len(labs)

    def _people(self):
        rng, session = self.rng, self.session
        rows = []  # (Person, lab or None, is_owner)
        for duty, post in (("leader", "副校长"), ("dept_head", "实验室与设备管理处处长"), ("liaison", "实验室与设备管理处科员")):
            name, email = self._person_name()
            rows.append((Person(name=name, unit=self.school, post=post, mobile=self._mobile(), email=email, duty=duty), None, False))
        for college in self.college_units.values():
            name, email = self._person_name()
            rows.append((Person(name=name, unit=college, post="学院实验室与设备管理办公室主任", mobile=self._mobile(),
                                email=email, duty="manager"), None, False))
        for lab in self.labs:
            n = rng.randint(2, 4)
            n_owners = 1 if n == 2 else rng.randint(1, 2)
            if lab is self.demo_lab:
                n, n_owners = 4, 2
            for i in range(n):
                owner = i < n_owners
                name, email = self._person_name()
                person = Person(
                    name=name, unit=lab.unit, post=rng.choice(OWNER_POSTS if owner else TECH_POSTS),
                    mobile=self._mobile(), email=email, duty="instrument_owner" if owner else "technician",
                )
                rows.append((person, lab, owner))
        # ≈3 % deliberately malformed contacts (for the compliance screens); never at school level nor
        # in the demo lab, whose showcase instruments publish their responsible persons' contacts
        candidates = [i for i, (p, lab, _o) in enumerate(rows)
                      if p.duty not in ("leader", "dept_head", "liaison") and lab is not self.demo_lab]
        n_bad = max(3, round(0.03 * len(rows)))
        for k, i in enumerate(sorted(rng.sample(candidates, n_bad))):
            person = rows[i][0]
            local = person.email.split("@")[0]
            if k % 2 == 0:
                person.mobile = rng.choice((person.mobile[:10], "2" + person.mobile[1:], person.mobile[:3] + "-" + person.mobile[3:7] + "-" + person.mobile[7:]))
            else:
                person.email = rng.choice((f"{local}#{MAIL_DOMAIN}", f"{local}@hnu-demo", f"{local}@@{MAIL_DOMAIN}"))
            person.remarks = "演示数据：联系方式格式有误（待整改）"
        session.add_all([p for p, _lab, _o in rows])
        session.flush()
        self.person_ids_by_unit = {}
        for person, lab, owner in rows:
            self.person_ids_by_unit.setdefault(person.unit_id, []).append(person.id)
            if lab is not None:
                lab.person_ids.append(person.id)
                if owner:
                    lab.owners.append((person.id, person.mobile, person.email))
        self.all_person_ids = [p.id for p, _l, _o in rows]
        self.counts["persons"] = len(rows)
        self.counts["malformed_contacts"] = n_bad

    def _platforms(self):
        session = self.session
        units = {**self.college_units, **{lab.code: lab.unit for lab in self.labs}}
        platforms = []
        for i, (name, kind, level, unit_code, networked) in enumerate(PLATFORMS, start=1):
            on = self._date_between(date(2019, 1, 1), date(2025, 12, 31)) if networked else None
            platforms.append(InnovationPlatform(
                name=name, kind=kind, level=level, unit=units[unit_code], networked=networked,
                provincial_ref=f"HN-PT-{on.year}-{i:04d}" if networked else None, networked_on=on,
                remarks=None if networked or level not in ("national", "provincial") else "演示数据：应入网而未入网",
            ))
        session.add_all(platforms)
        session.flush()
        for platform, (_n, _k, _l, unit_code, _net) in zip(platforms, PLATFORMS):
            for lab in self.labs:
                if lab.code == unit_code or lab.college_code == unit_code:
                    lab.platform_ids.append(platform.id)
        self.counts["platforms"] = len(platforms)

    def _customers(self):
        rng, session = self.rng, self.session
        orgs = []
        for name, category, affiliated, code in CUSTOMERS:
            orgs.append(CustomerOrg(name=name, category=category, affiliated=affiliated,
                                    credit_code=make_credit_code(*code) if code else None))
        session.add_all(orgs)
        session.flush()
        self.enterprise = orgs[0]
        domains = ("xingchen-materials.com", "zzjgjc.com", "lugu-bio.com", "hunaas.cn", "csu-demo.edu.cn", "163.com", MAIL_DOMAIN)
        users = []
        for org, domain in zip(orgs, domains):
            for _ in range(rng.randint(2, 3)):
                name, email = self._person_name()
                users.append(ServiceUser(name=name, org=org, mobile=self._mobile(), email=email.split("@")[0] + "@" + domain))
        session.add_all(users)
        session.flush()
        self.counts["customer_orgs"] = len(orgs)
        self.counts["service_users"] = len(users) + 1

    # ---------------------------------------------------------------- instruments
    def _value(self, tpl) -> Decimal:
        lo, hi = tpl.lo * 10000, tpl.hi * 10000
        value = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
        value = min(max(value, 50_000), 20_000_000)
        return Decimal(int(round(value, -2))).quantize(CENT)

    def _instrument(self, seq, lab, tpl, kind="instrument", forced=None):
        """The column values of one instrument (a dict: rows are bulk-inserted) and whether it has a terminal."""
        rng = self.rng
        forced = forced or {}
        model, manufacturer, country = rng.choice(tpl.variants)
        value = self._value(tpl)
        r = rng.random()
        funding = "fiscal_full" if r < 0.75 else ("fiscal_partial" if r < 0.9 else "non_fiscal")
        purchase = self._date_between(date(2008, 1, 1), date(2026, 3, 31))
        acceptance = min(purchase + timedelta(days=rng.randint(0, 120)), TODAY_CAP)
        r = rng.random()
        run_status = "normal" if r < 0.88 else ("occasional_fault" if r < 0.93 else ("under_repair" if r < 0.97 else "to_scrap"))
        r = rng.random()
        sharing = "unsuitable" if r < 0.04 else ("internal" if r < 0.24 else "external")
        run_ok = run_status in ("normal", "occasional_fault")
        bookable = run_ok and rng.random() < (0.9 if sharing == "external" else 0.35 if sharing == "internal" else 0)
        run_status = forced.get("run_status", run_status)
        sharing = forced.get("sharing", sharing)
        bookable = forced.get("bookable", bookable if sharing != "unsuitable" else False)
        funding = forced.get("funding", funding)

        must_network = funding in ("fiscal_full", "fiscal_partial") and (value >= 300_000 or kind == "facility")
        if sharing == "unsuitable":
            networked = rng.random() < 0.15
        else:
            networked = rng.random() < (0.85 if must_network else 0.15)
        networked = forced.get("networked", networked)
        networked_on = provincial_ref = None
        if networked:
            if acceptance < date(2018, 1, 1):
                networked_on = self._date_between(date(2018, 3, 1), date(2025, 12, 31))
            else:
                networked_on = min(acceptance + timedelta(days=rng.randint(7, 90)), date(2026, 5, 29))
            provincial_ref = f"HN-{networked_on.year}-{seq:06d}"

        owner_id, owner_mobile, owner_email = rng.choice(lab.owners)
        phone = owner_mobile if rng.random() < 0.7 else f"0731-888{rng.randint(10000, 99999)}"
        email = owner_email if rng.random() < 0.75 else lab.email
        r = rng.random()
        if r < 0.6:
            verified = self._date_between(date(2026, 1, 5), date(2026, 5, 29))
        elif r < 0.85:
            verified = self._date_between(date(2022, 3, 1), date(2025, 4, 30))
        else:
            verified = None

        duty_free = country != "中国" and rng.random() < (0.18 if purchase.year >= 2021 else 0.04)
        customs_no = supervision_end = None
        if duty_free:
            customs_no = f"4901{purchase.year}1{rng.randint(0, 999999999):09d}"
            supervision_end = date(acceptance.year + 3, acceptance.month, min(acceptance.day, 28))

        if kind == "facility":
            location = f"{lab.building}{lab.zone}区一层大厅"
        else:
            location = f"{lab.building}{lab.zone}区{lab.floor}{rng.randint(1, 30):02d}室"
        mode = {"hour": "自主上机与委托测试", "sample": "送样测试", "element": "送样测试", "day": "场地与设施使用"}[tpl.fee]
        scope = f"面向校内师生及校外高校、科研院所、企业和大学生创业团队开放，提供{mode}服务：{tpl.functions.split('；')[0]}。"
        if sharing == "internal":
            scope = f"校内共享，面向校内各课题组提供{mode}服务。"
        elif sharing == "unsuitable":
            scope = None
        platform_id = rng.choice(lab.platform_ids) if lab.platform_ids and rng.random() < 0.5 else None
        with_terminal = forced.get("terminal", rng.random() < 0.4)
        discipline = rng.choice(self.disciplines[lab.college_key])
        updated = min(max(acceptance, verified or date(2025, 1, 1)) + timedelta(days=rng.randint(0, 60)), date(2026, 5, 29))

        row = dict(
            kind=kind, asset_number=f"{purchase.year}-ZC-{seq:06d}", name=tpl.name, name_en=tpl.en, model=model,
            manufacturer=manufacturer, country=country, class_code=self._class_for(tpl), discipline=discipline,
            original_value=value, funding_source=funding, purchase_date=purchase, acceptance_date=acceptance,
            technical_indicators=tpl.indicators, main_functions=tpl.functions, service_scope=scope, location=location,
            unit_id=lab.unit.id, platform_id=platform_id, responsible_person_id=owner_id, contact_phone=phone,
            contact_email=email, contact_verified_on=verified, run_status=run_status, sharing_status=sharing,
            bookable=bookable, networked=networked, provincial_ref=provincial_ref, networked_on=networked_on,
            sync_fingerprint=None, duty_free=duty_free, customs_declaration_no=customs_no, supervision_end=supervision_end,
            iot_terminal_id=None, updated_at=self._datetime_on(updated),
        )
        # ≈5 % deliberately incomplete records (notice §(三)2), never the demo lab's showcase ones
        if not forced and rng.random() < 0.05:
            gap = rng.choice(("technical_indicators", "location", "contact", "responsible_person", "service_scope", "model"))
            if gap == "contact":
                row["contact_phone"] = row["contact_email"] = None
            elif gap == "responsible_person":
                row["responsible_person_id"] = None
            else:
                row[gap] = None
            self.counts["incomplete"] = self.counts.get("incomplete", 0) + 1
        return row, with_terminal

    def _instruments(self):
        rng = self.rng
        self.disciplines = {key: disc for key, _c, _n, _b, disc, _l in COLLEGES}
        pools = {key: [t for t in INSTRUMENTS if key in t.colleges] for key, *_ in COLLEGES}
        # cheaper, commoner instruments are drawn more often: most values land in 100k–3M CNY
        pool_weights = {key: [math.sqrt(t.lo * t.hi) ** -0.6 for t in pool] for key, pool in pools.items()}
        by_name = {t.name: t for t in INSTRUMENTS}
        # the demo lab's showcase: bookable, IoT-connected, complete, networked, with published fees
        showcase = ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜", "X射线衍射仪", "傅里叶变换红外光谱仪",
                    "气相色谱-质谱联用仪", "电感耦合等离子体质谱仪", "X射线光电子能谱仪")
        plan = []  # (lab, tpl, kind, forced)
        showcase_forced = {"run_status": "normal", "sharing": "external", "bookable": True, "funding": "fiscal_full",
                           "networked": True, "terminal": True}
        for name in showcase:
            plan.append((self.demo_lab, by_name[name], "instrument", dict(showcase_forced)))
        # one teaching-only filing drafted by the demo lab, one awaiting the demo college's review
        plan.append((self.demo_lab, by_name["紫外-可见-近红外分光光度计"], "instrument",
                     {"sharing": "unsuitable", "bookable": False, "filing": ("teaching", "draft")}))
        plan.append((self.lab_by_code["C01-L02"], by_name["气相色谱仪"], "instrument",
                     {"sharing": "unsuitable", "bookable": False, "filing": ("teaching", "college_review")}))
        plan = plan[: self.n_instruments] if self.n_instruments < len(plan) else plan
        weights = [lab.weight for lab in self.labs]
        for _ in range(self.n_instruments - len(plan)):
            lab = rng.choices(self.labs, weights)[0]
            facilities = COLLEGE_FACILITY.get(lab.college_key, ())
            if facilities and rng.random() < 0.05:
                plan.append((lab, FACILITIES[rng.choice(facilities)], "facility", None))
            else:
                plan.append((lab, rng.choices(pools[lab.college_key], pool_weights[lab.college_key])[0], "instrument", None))

        admin_id = self.users["school_admin"].id
        counts = {"instruments": 0, "facilities": 0, "iot_terminals": 0, "fee_standards_published": 0,
                  "fee_standards_pending": 0, "unsuitable_filings": 0}
        n_terminal = 0
        batch = []  # (row, with_terminal, forced, lab, tpl)
        for seq, (lab, tpl, kind, forced) in enumerate(plan, start=1):
            row, with_terminal = self._instrument(seq, lab, tpl, kind, forced)
            if with_terminal:
                n_terminal += 1
                row["iot_terminal_id"] = f"term-{n_terminal:04d}"
            batch.append((row, with_terminal, forced or {}, lab, tpl))
            counts["instruments"] += 1
            counts["facilities"] += kind == "facility"
            if len(batch) >= BATCH:
                self._write_batch(batch, admin_id, counts)
                batch = []
        if batch:
            self._write_batch(batch, admin_id, counts)
        self.counts.update(counts)

    def _insert(self, model, rows):
        """Core executemany of column dicts (every row has the same keys): no unit-of-work bookkeeping,
        an order of magnitude faster than ORM objects for thousands of rows. No ORM events fire,
        which is intended: these are new rows (the change log records updates only).
        (RETURNING with `sort_by_parameter_order` was quadratic here; ids are read back by natural key.)
        """
        if rows:
            self.session.execute(model.__table__.insert(), rows)

    def _write_batch(self, batch, admin_id, counts):
        rng, session = self.rng, self.session
        self._insert(Instrument, [row for row, *_ in batch])
        id_of = dict(session.execute(
            sa.select(Instrument.asset_number, Instrument.id).where(Instrument.asset_number.in_([r["asset_number"] for r, *_ in batch]))
        ).all())
        terminals, filings, standards = [], [], []
        for row, with_terminal, forced, lab, tpl in batch:
            instrument_id = id_of[row["asset_number"]]
            if with_terminal:
                terminals.append(dict(
                    terminal_id=row["iot_terminal_id"], instrument_id=instrument_id, adapter="native",
                    power_threshold_w=Decimal("40.0"),
                    first_seen=self._datetime_on(self._date_between(date(2025, 9, 1), date(2026, 5, 20))),
                ))
            if row["sharing_status"] == "unsuitable":
                category, state = forced.get("filing") or (self._filing_category(lab), None)
                if state is None:
                    r = rng.random()
                    state = "filed" if r < 0.45 else "school_review" if r < 0.65 else "college_review" if r < 0.85 else "draft"
                created = self._datetime_on(self._date_between(date(2026, 3, 2), date(2026, 5, 29)))
                decided = created + timedelta(days=rng.randint(3, 20)) if state == "filed" else None
                filings.append(dict(
                    instrument_id=instrument_id, category=category, reason=rng.choice(UNSUITABLE_REASONS[category]),
                    networked_at_filing=row["networked"], state=state, remarks=None, created_at=created,
                    decided_at=decided, decided_by_id=admin_id if decided else None,
                ))
                continue
            in_demo_lab = lab is self.demo_lab
            if in_demo_lab and row["bookable"]:
                published = True
            else:
                published = rng.random() < (0.40 if row["bookable"] else 0.12)
            if published:
                standards.append(self._fee_standard(instrument_id, row, tpl, "published", admin_id))
            elif row["bookable"] and not in_demo_lab and rng.random() < 0.06:
                state = rng.choice(("draft", "college_review", "school_review"))
                standards.append(self._fee_standard(instrument_id, row, tpl, state, None))
        self._insert(IotTerminal, terminals)
        self._insert(UnsuitableFiling, filings)
        counts["iot_terminals"] += len(terminals)
        counts["unsuitable_filings"] += len(filings)
        counts["fee_standards_published"] += sum(1 for s, _items in standards if s["state"] == "published")
        counts["fee_standards_pending"] += sum(1 for s, _items in standards if s["state"] != "published")
        if not standards:
            return
        # standards -> items -> (components, prices): one bulk INSERT per level; every instrument
        # here has exactly one standard (version 1) and item names are unique within a standard
        self._insert(FeeStandard, [s for s, _items in standards])
        standard_of = dict(session.execute(
            sa.select(FeeStandard.instrument_id, FeeStandard.id)
            .where(FeeStandard.instrument_id.in_([s["instrument_id"] for s, _items in standards]), FeeStandard.version == 1)
        ).all())
        items = []
        for s, standard_items in standards:
            for item, _components, _prices in standard_items:
                items.append(dict(item, standard_id=standard_of[s["instrument_id"]]))
        self._insert(FeeItem, items)
        item_of = {(sid, name): iid for sid, name, iid in session.execute(
            sa.select(FeeItem.standard_id, FeeItem.name, FeeItem.id).where(FeeItem.standard_id.in_(list(standard_of.values())))
        ).all()}
        component_rows, price_rows = [], []
        for s, standard_items in standards:
            standard_id = standard_of[s["instrument_id"]]
            for item, components, prices in standard_items:
                item_id = item_of[(standard_id, item["name"])]
                component_rows.extend(dict(c, item_id=item_id) for c in components)
                price_rows.extend(dict(p, item_id=item_id) for p in prices)
        self._insert(FeeItemComponent, component_rows)
        self._insert(FeePrice, price_rows)

    def _filing_category(self, lab):
        r = self.rng.random()
        if lab.college_key == "med" and r < 0.6:
            return "medical"
        if lab.college_key in ("info", "phy") and r < 0.4:
            return "classified"
        return "teaching" if r < 0.8 else "other"

    def _fee_standard(self, instrument_id, row, tpl, state, admin_id):
        """(standard row, [(item row, component rows, price rows)]) for one instrument."""
        rng = self.rng
        value = float(row["original_value"])
        per_unit = {"hour": 9600, "sample": 19200, "element": 48000, "day": 2000}[tpl.fee]
        base_usage = max(value / per_unit, 8.0)
        (main_name, main_unit, _f), extras = FEE_ITEMS[tpl.fee]
        chosen = [(main_name, main_unit, 1.0)] + [e for e in extras if rng.random() < 0.45]
        uniform = rng.random() < 0.25  # some standards charge every customer category the same
        items = []
        for name, unit, factor in chosen:
            usage = base_usage * factor * rng.uniform(0.8, 1.2)
            parts = (
                ("usage", usage),
                ("consumables", usage * rng.uniform(0.05, 0.4)),
                ("utilities", usage * rng.uniform(0.05, 0.2)),
                ("technical", usage * rng.uniform(0.1, 0.5)),
            )
            components = [dict(component=c, amount=_money(v)) for c, v in parts]
            cost = sum((c["amount"] for c in components), Decimal("0.00"))
            campus = _ceil_yuan(cost * Decimal(str(round(rng.uniform(1.0, 1.08), 3))))
            prices = []
            for category, factor_c in PRICE_FACTORS:
                price = campus if uniform or factor_c == 1.0 else _ceil_yuan(campus * Decimal(str(factor_c)))
                prices.append(dict(customer_category=category, tier_min=Decimal("0"), tier_max=None, unit_price=price,
                                   difference_reason=DIFFERENCE_REASONS.get(category) if price != campus else None))
            items.append((dict(name=name, billing_unit=unit, cost_basis=cost), components, prices))
        published = state == "published"
        approved = self._datetime_on(self._date_between(date(2025, 12, 10), date(2025, 12, 30))) if published else None
        created = (approved - timedelta(days=rng.randint(10, 40))) if approved else self._datetime_on(
            self._date_between(date(2026, 3, 1), date(2026, 5, 29)))
        standard = dict(
            instrument_id=instrument_id, version=1, state=state, effective_from=date(2026, 1, 1) if published else None,
            effective_to=None, pricing_method=PRICING_METHOD[tpl.fee],
            justification="依据湘科发〔2025〕143号第十五条，按成本补偿和非营利原则核定，经学院审核、学校归口管理部门审定后公布。",
            approved_by_id=admin_id if published else None, approved_at=approved, created_at=created,
        )
        return standard, items

    # ---------------------------------------------------------------- training
    def _trainings(self):
        rng, session = self.rng, self.session
        persons = {pid: session.get(Person, pid) for pid in self.all_person_ids}
        sessions = []

        def attendees(ids, share):
            chosen = [pid for pid in ids if rng.random() < share]
            return [persons[pid] for pid in chosen]

        school_dates = (date(2026, 3, 18), date(2026, 9, 16))
        for topic, day in zip(TRAINING_TOPICS["school"], school_dates):
            sessions.append(TrainingSession(level="school", unit=self.school, held_on=day, topic=topic,
                                            attendees=attendees(self.all_person_ids, 0.85 if day.month < 7 else 0.6)))
        for code, college in self.college_units.items():
            ids = list(self.person_ids_by_unit.get(college.id, []))
            for lab in self.labs:
                if lab.college_code == code:
                    ids.extend(lab.person_ids)
            n = rng.randint(1, 2)
            topics = rng.sample(TRAINING_TOPICS["college"], n)
            for k, topic in enumerate(topics):
                day = self._date_between(date(2026, 4, 1), date(2026, 6, 26)) if k == 0 else \
                    self._date_between(date(2026, 7, 6), date(2026, 10, 30))
                sessions.append(TrainingSession(level="college", unit=college, held_on=day, topic=topic,
                                                attendees=attendees(ids, 0.8)))
        for lab in self.labs:
            if lab is not self.demo_lab and rng.random() >= 0.5:
                continue
            day = self._date_between(date(2026, 3, 9), date(2026, 10, 30))
            if lab is self.demo_lab:
                day = date(2026, 5, 13)
            sessions.append(TrainingSession(level="lab", unit=lab.unit, held_on=day, topic=rng.choice(TRAINING_TOPICS["lab"]),
                                            attendees=[persons[pid] for pid in lab.person_ids]))
        session.add_all(sessions)
        self.counts["trainings"] = len(sessions)


# --------------------------------------------------------------------------------------------
# Demo accounts
# --------------------------------------------------------------------------------------------
def _ensure_accounts(session, sm, school, college, lab, enterprise):
    """Create the four demo accounts if missing and bind them to their units; returns (users, created)."""
    bound = {"school": school, "college": college, "lab": lab, None: None}
    users, created = {}, []
    for username, role_name, scope, first_name, last_name, email in ACCOUNTS:
        role = sm.find_role(role_name)
        if role is None:
            raise RuntimeError(f"role {role_name} is missing: run `flask --app app sync-roles`")
        user = sm.find_user(username=username)
        if user is None:
            user = sm.add_user(username, first_name, last_name, email, role, password=DEMO_PASSWORD, commit=False)
            if not user:
                raise RuntimeError(f"could not create the demo account {username}")
            created.append(username)
        elif role not in user.roles:
            user.roles.append(role)
        unit = bound[scope]
        unit_id = unit.id if unit is not None else None
        if user.unit_id != unit_id:
            user.unit_id = unit_id
        users[username] = user
    if enterprise is not None:
        account = users["service_user"]
        row = session.scalar(sa.select(ServiceUser).where(ServiceUser.account_id == account.id))
        if row is None:
            session.add(ServiceUser(name=account.last_name + account.first_name, org_id=enterprise.id, account_id=account.id,
                                    mobile="13974810526", email=account.email))
    session.flush()
    return users, created


def _existing_demo_units(session, school):
    college = session.scalar(sa.select(Unit).where(Unit.code == DEMO_COLLEGE_CODE)) or session.scalar(
        sa.select(Unit).where(Unit.parent_id == school.id).order_by(Unit.id))
    lab = None
    if college is not None:
        lab = session.scalar(sa.select(Unit).where(Unit.code == DEMO_LAB_CODE, Unit.parent_id == college.id)) or session.scalar(
            sa.select(Unit).where(Unit.parent_id == college.id).order_by(Unit.id))
    enterprise = session.scalar(sa.select(CustomerOrg).where(CustomerOrg.name == DEMO_ENTERPRISE)) or session.scalar(
        sa.select(CustomerOrg).where(CustomerOrg.category == "enterprise", CustomerOrg.affiliated.is_(False)).order_by(CustomerOrg.id))
    return college, lab, enterprise


def seed_demo(instruments: int = 420) -> str:
    """Seed the demo university once; afterwards only make sure the demo accounts exist."""
    from app.security.roles import sync_roles

    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    session = db.session
    # roles first (FAB grants every new permission to the admin role, which must exist), then the
    # permissions of every registered view, then the roles again so each holds exactly its grants
    if sm.find_role(current_app.config.get("AUTH_ROLE_ADMIN", "SchoolAdmin")) is None:
        sync_roles()
    appbuilder.add_permissions(update_perms=True)
    sync_roles()

    school = session.scalar(sa.select(Unit).where(Unit.code == SCHOOL_CODE))
    if school is None:
        try:
            counts = _DemoBuilder(session, sm, instruments).build()
            session.commit()
        except Exception:
            session.rollback()
            raise
        order = ("units", "persons", "platforms", "instruments", "facilities", "iot_terminals", "fee_standards_published",
                 "fee_standards_pending", "unsuitable_filings", "trainings", "customer_orgs", "service_users")
        return ", ".join(f"{key}={counts[key]}" for key in order if key in counts) + ", accounts=4"

    college, lab, enterprise = _existing_demo_units(session, school)
    try:
        _users, created = _ensure_accounts(session, sm, school, college, lab, enterprise)
        session.commit()
    except Exception:
        session.rollback()
        raise
    note = f"created {', '.join(created)}" if created else "all present"
    return f"{SCHOOL_CODE} already seeded; demo accounts: {note}"

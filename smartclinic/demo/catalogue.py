"""The fixed facts of the demo campus: colleges and majors, offices, dormitories, clinic departments.

Only data lives here; ``seed.py`` turns it (with a seeded random source) into rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartclinic.scheduling.choices import DoctorTitle


@dataclass(frozen=True)
class Major:
    name: str
    short: str  # as it appears in a class name: 软件2301


@dataclass(frozen=True)
class College:
    code: str  # two digits, part of the student number: 2023 + 01 + 0001
    name: str
    majors: tuple[Major, ...]
    weight: int  # relative share of the students
    male_share: float


COLLEGES: tuple[College, ...] = (
    College(
        "01",
        "计算机科学与技术学院",
        (
            Major("计算机科学与技术", "计科"),
            Major("软件工程", "软件"),
            Major("人工智能", "智能"),
            Major("网络空间安全", "网安"),
        ),
        16,
        0.70,
    ),
    College(
        "02",
        "电子信息工程学院",
        (Major("电子信息工程", "电信"), Major("通信工程", "通信"), Major("微电子科学与工程", "微电")),
        12,
        0.68,
    ),
    College(
        "03",
        "机械工程学院",
        (Major("机械设计制造及其自动化", "机械"), Major("车辆工程", "车辆"), Major("工业设计", "工设")),
        12,
        0.80,
    ),
    College(
        "04",
        "经济管理学院",
        (Major("会计学", "会计"), Major("工商管理", "工商"), Major("金融学", "金融"), Major("市场营销", "营销")),
        14,
        0.40,
    ),
    College("05", "外国语学院", (Major("英语", "英语"), Major("日语", "日语"), Major("翻译", "翻译")), 8, 0.25),
    College(
        "06",
        "化学与材料学院",
        (Major("应用化学", "应化"), Major("材料科学与工程", "材料"), Major("化学工程与工艺", "化工")),
        10,
        0.60,
    ),
    College("07", "医学院", (Major("临床医学", "临床"), Major("护理学", "护理"), Major("药学", "药学")), 14, 0.40),
    College("08", "文学与新闻传播学院", (Major("汉语言文学", "汉语言"), Major("新闻学", "新闻")), 8, 0.30),
)

ADMINISTRATIVE_OFFICES: tuple[str, ...] = (
    "校长办公室",
    "教务处",
    "学生工作处",
    "后勤保障处",
    "财务处",
    "图书馆",
    "保卫处",
    "信息化建设中心",
    "国际交流处",
)
CLINIC_WORKPLACE = "校医院"

ENROLMENT_YEARS: tuple[int, ...] = (2022, 2023, 2024, 2025)
STUDENTS_PER_CLASS = 30
# Men and women live in different areas of the campus.
DORMITORIES_MALE: tuple[str, ...] = tuple(f"东区{n}栋" for n in range(1, 9))
DORMITORIES_FEMALE: tuple[str, ...] = tuple(f"西区{n}栋" for n in range(1, 7))


@dataclass(frozen=True)
class DoctorPlan:
    title: DoctorTitle
    also_in: tuple[str, ...] = ()  # codes of further departments the doctor sees patients in
    # The weekly consulting periods: "Mon AM, Wed PM, Thu EVE"; a trailing department code
    # ("Wed PM PF") puts that period in another of the doctor's departments.
    week: str = ""
    slot_minutes: int | None = None  # the department's when None


# The consulting periods of a day: (period, start, end) as "HH:MM".
STANDARD_PERIODS: tuple[tuple[str, str, str], ...] = (
    ("morning", "08:00", "11:30"),
    ("afternoon", "14:00", "17:00"),
    ("evening", "18:30", "20:30"),
)


@dataclass(frozen=True)
class ClinicDepartment:
    code: str
    name: str
    name_en: str
    description: str
    location: str
    opening_hours: str
    first_room: int
    specialties: tuple[str, ...]
    doctors: tuple[DoctorPlan, ...]
    periods: tuple[tuple[str, str, str], ...] = STANDARD_PERIODS
    slot_minutes: int = 15
    walkin_percent: int = 20  # places of each session kept back for walk-ins (现场挂号)
    per_slot: int | None = None  # by the doctor's title when None


_WEEKDAYS = "周一至周五 08:00-11:30，14:00-17:00"

CLINIC_DEPARTMENTS: tuple[ClinicDepartment, ...] = (
    ClinicDepartment(
        "NK",
        "内科",
        "Internal Medicine",
        "诊治感冒发热、咳嗽、胃肠不适、高血压等常见内科疾病，负责慢性病随访与开具检验检查。",
        "校医院一楼东侧",
        "周一至周六 08:00-11:30，14:00-17:00，部分晚间 18:30-20:30；夜间急诊 20:30-次日08:00",
        101,
        ("感冒", "发热", "咳嗽", "胃炎", "腹泻", "高血压", "糖尿病", "过敏性疾病", "失眠", "贫血"),
        (
            DoctorPlan(DoctorTitle.CHIEF, week="Mon AM, Wed PM, Fri AM"),
            DoctorPlan(DoctorTitle.ASSOCIATE_CHIEF, week="Mon PM, Tue AM, Thu AM, Sat AM"),
            DoctorPlan(DoctorTitle.ATTENDING, week="Tue PM, Wed AM, Thu EVE, Fri PM, Sat PM"),
            DoctorPlan(DoctorTitle.ATTENDING, week="Mon AM, Mon EVE, Wed EVE, Thu PM"),
            DoctorPlan(DoctorTitle.RESIDENT, week="Tue EVE, Wed AM, Fri EVE, Sat AM"),
        ),
    ),
    ClinicDepartment(
        "WK",
        "外科",
        "Surgery",
        "处理外伤清创缝合、运动损伤、软组织感染及体表肿物等，提供换药与小手术服务。",
        "校医院一楼西侧",
        _WEEKDAYS,
        111,
        ("外伤清创", "运动损伤", "扭伤", "骨折初诊", "软组织挫伤", "甲沟炎", "烧烫伤", "体表肿物"),
        (
            DoctorPlan(DoctorTitle.ASSOCIATE_CHIEF, week="Mon AM, Wed AM, Fri PM"),
            DoctorPlan(DoctorTitle.ATTENDING, also_in=("PF",), week="Mon PM, Tue AM, Thu AM, Wed PM PF"),
            DoctorPlan(DoctorTitle.RESIDENT, week="Tue PM, Wed PM, Thu PM, Fri AM"),
        ),
    ),
    ClinicDepartment(
        "KQ",
        "口腔科",
        "Stomatology",
        "开展龋齿充填、牙周治疗、洁牙、智齿拔除等口腔常见病诊疗及口腔健康咨询。",
        "校医院二楼东侧",
        "周一至周六 08:00-11:30，14:00-17:00",
        201,
        ("龋齿", "牙周炎", "智齿冠周炎", "口腔溃疡", "洗牙", "牙髓炎", "牙齿矫正咨询"),
        (
            DoctorPlan(DoctorTitle.CHIEF, week="Tue AM, Thu AM, Sat AM"),
            DoctorPlan(DoctorTitle.ATTENDING, week="Mon AM, Mon PM, Wed PM, Fri AM"),
            DoctorPlan(DoctorTitle.RESIDENT, week="Tue PM, Wed AM, Fri PM, Sat PM"),
        ),
    ),
    ClinicDepartment(
        "YK",
        "眼科",
        "Ophthalmology",
        "诊治结膜炎、干眼症、视疲劳等眼部常见病，提供视力检查与验光配镜咨询。",
        "校医院二楼西侧",
        _WEEKDAYS,
        211,
        ("近视", "干眼症", "结膜炎", "视疲劳", "麦粒肿", "配镜验光"),
        (
            DoctorPlan(DoctorTitle.ASSOCIATE_CHIEF, week="Mon AM, Wed PM, Thu AM"),
            DoctorPlan(DoctorTitle.ATTENDING, week="Tue AM, Wed AM, Fri PM"),
        ),
    ),
    ClinicDepartment(
        "EBH",
        "耳鼻喉科",
        "Otorhinolaryngology (ENT)",
        "诊治咽炎、扁桃体炎、鼻炎、鼻窦炎、中耳炎等耳鼻咽喉常见疾病。",
        "校医院二楼西侧",
        _WEEKDAYS,
        215,
        ("咽炎", "扁桃体炎", "鼻炎", "鼻窦炎", "中耳炎", "耳鸣"),
        (
            DoctorPlan(DoctorTitle.ASSOCIATE_CHIEF, week="Mon PM, Wed AM, Fri AM"),
            DoctorPlan(DoctorTitle.RESIDENT, week="Tue AM, Thu PM, Fri PM"),
        ),
    ),
    ClinicDepartment(
        "PF",
        "皮肤科",
        "Dermatology",
        "诊治痤疮、湿疹、荨麻疹、皮炎及真菌感染等常见皮肤病。",
        "校医院三楼东侧",
        _WEEKDAYS,
        301,
        ("痤疮", "湿疹", "荨麻疹", "皮炎", "真菌感染", "脱发"),
        (
            DoctorPlan(DoctorTitle.ATTENDING, week="Mon AM, Tue PM, Thu AM"),
            DoctorPlan(DoctorTitle.RESIDENT, week="Wed AM, Fri AM, Fri PM"),
        ),
    ),
    ClinicDepartment(
        "ZY",
        "中医科",
        "Traditional Chinese Medicine",
        "运用中药、针灸、推拿等中医方法调理体质，治疗颈肩腰腿痛、失眠、月经不调等。",
        "校医院三楼西侧",
        "周一至周五 08:00-11:30；周二、周四 14:00-17:00",
        311,
        ("针灸", "推拿", "颈肩腰腿痛", "失眠调理", "月经不调", "体质调理"),
        (
            DoctorPlan(DoctorTitle.CHIEF, week="Mon AM, Tue PM, Thu AM"),
            DoctorPlan(DoctorTitle.ATTENDING, week="Tue AM, Wed AM, Thu PM, Fri AM"),
        ),
    ),
    ClinicDepartment(
        "XL",
        "心理咨询",
        "Psychological Counselling",
        "为师生提供一对一心理咨询、情绪疏导与心理危机干预，严格保护来访者隐私。",
        "校医院四楼（独立候诊区）",
        "周一至周五 09:00-11:30，14:30-17:30；周二、周四晚 18:30-20:30（需预约）",
        401,
        ("焦虑", "抑郁情绪", "学业压力", "人际关系", "睡眠问题", "情绪管理", "适应问题"),
        (
            # One client per counselling hour; no walk-ins (需预约).
            DoctorPlan(DoctorTitle.ASSOCIATE_CHIEF, week="Mon PM, Wed AM, Thu EVE", slot_minutes=50),
            DoctorPlan(DoctorTitle.ATTENDING, week="Tue AM, Tue EVE, Fri PM", slot_minutes=45),
        ),
        periods=(("morning", "09:00", "11:30"), ("afternoon", "14:30", "17:30"), ("evening", "18:30", "20:30")),
        slot_minutes=50,
        walkin_percent=0,
        per_slot=1,
    ),
)

# Patients per slot by title: seniors take longer over each patient.
PER_SLOT_BY_TITLE = {
    DoctorTitle.CHIEF: 2,
    DoctorTitle.ASSOCIATE_CHIEF: 2,
    DoctorTitle.ATTENDING: 3,
    DoctorTitle.RESIDENT: 3,
}
TITLE_NAMES_ZH = {
    DoctorTitle.CHIEF: "主任医师",
    DoctorTitle.ASSOCIATE_CHIEF: "副主任医师",
    DoctorTitle.ATTENDING: "主治医师",
    DoctorTitle.RESIDENT: "医师",
}
# Youngest and oldest plausible age for each title.
TITLE_AGES = {
    DoctorTitle.CHIEF: (48, 60),
    DoctorTitle.ASSOCIATE_CHIEF: (40, 55),
    DoctorTitle.ATTENDING: (32, 45),
    DoctorTitle.RESIDENT: (26, 33),
}

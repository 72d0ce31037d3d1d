"""The symptom → department knowledge table behind "help me choose a department".

Where the mapping comes from
    The entries follow the general triage practice of Chinese university campus clinics and the
    public outpatient department guides (门诊分诊指引 / 就诊科室指南) that hospitals publish for
    patients: complaints of a body system go to that system's department (eyes → 眼科, teeth and
    mouth → 口腔科, ear/nose/throat → 耳鼻喉科, skin → 皮肤科, injuries, burns and suspected
    appendicitis → 外科, emotional and sleep concerns → 心理咨询), everything systemic or unclear
    goes to 内科 as general practice, and a patient's explicit wish for 中医 (调理, 针灸, 中药, 推拿) or
    a complaint that 中医科 commonly treats (insomnia, menstrual pain, neck and back strain) also
    scores 中医科. The table is curated by the SmartClinic team and reviewed by the clinic's
    medical staff; it is advice for choosing a queue, never a diagnosis.

How an entry reads
    ``Symptom(code, zh, en, group, zh_keywords, en_keywords, departments, pickable, refines)``:
    ``code`` is stable (stored in requests and analytics: never rename, only add); ``zh`` / ``en``
    are the labels the symptom picker shows; the keywords are what free text is matched against
    (Chinese by substring, longest first; English by whole words after lower-casing, dropping
    punctuation and a plural "s" — see ``triage.normalize_english``); ``departments`` maps a
    department code to a weight in (0, 1]: 1.0 for the department that owns the complaint, less
    for departments that also see it. ``pickable=False`` marks weak body-location cues ("眼睛",
    "tooth") that help free text but are not offered in the picker. ``refines`` names the generic
    symptoms this one is a specific form of ("右下腹痛" refines "腹痛"): when both match, the
    generic one is not counted again.

How to extend it
    Add a ``_s(...)`` line in the right section with a new ``code``; put colloquial phrasings
    students really use in the keywords (check the picker labels stay short); give the owning
    department 1.0; run ``pytest smartclinic/booking/tests/test_triage.py -s`` and compare the
    accuracy it prints with ``docs/triage.md``. A keyword may belong to one symptom only and the
    table is checked when the module is imported, so a malformed entry fails loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Department codes as in scheduling.Department.code, in tie-break order (内科 = general practice first).
DEPARTMENTS: dict[str, tuple[str, str]] = {
    "NK": ("内科", "Internal Medicine"),
    "WK": ("外科", "Surgery"),
    "KQ": ("口腔科", "Dentistry"),
    "YK": ("眼科", "Ophthalmology"),
    "EBH": ("耳鼻喉科", "ENT"),
    "PF": ("皮肤科", "Dermatology"),
    "ZY": ("中医科", "Traditional Chinese Medicine"),
    "XL": ("心理咨询", "Counselling"),
}

# What a group of symptoms suggests, used in the explanations: "“嗓子疼”提示咽喉问题 → 耳鼻喉科".
GROUPS: dict[str, tuple[str, str]] = {
    "general": ("全身性不适", "a general illness"),
    "respiratory": ("呼吸道问题", "a respiratory problem"),
    "digestive": ("消化道问题", "a digestive problem"),
    "head": ("头部不适", "a headache or dizziness problem"),
    "allergy": ("过敏问题", "an allergy"),
    "skin": ("皮肤问题", "a skin problem"),
    "eye": ("眼部问题", "an eye problem"),
    "ear": ("耳部问题", "an ear problem"),
    "nose": ("鼻部问题", "a nose problem"),
    "throat": ("咽喉问题", "a throat problem"),
    "mouth": ("口腔牙齿问题", "a tooth or mouth problem"),
    "injury": ("外伤或运动损伤", "an injury"),
    "musculoskeletal": ("颈肩腰腿问题", "a muscle or joint problem"),
    "mental": ("心理或情绪问题", "an emotional or mental-health concern"),
    "sleep": ("睡眠问题", "a sleep problem"),
    "tcm": ("中医调理需求", "a wish for traditional Chinese medicine"),
    "menstrual": ("月经相关问题", "a menstrual problem"),
    "urinary": ("泌尿问题", "a urinary problem"),
    "cardio": ("心血管问题", "a heart or blood-pressure problem"),
}


@dataclass(frozen=True, slots=True)
class Symptom:
    code: str
    zh: str
    en: str
    group: str
    zh_keywords: tuple[str, ...]
    en_keywords: tuple[str, ...]
    departments: Mapping[str, float]
    pickable: bool = True
    refines: tuple[str, ...] = ()


def _s(
    code: str,
    zh: str,
    en: str,
    group: str,
    zh_keywords: str,
    en_keywords: str,
    departments: Mapping[str, float],
    *,
    pickable: bool = True,
    refines: str = "",
) -> Symptom:
    """One entry: Chinese keywords and ``refines`` codes separated by spaces, English keywords by "|"."""
    return Symptom(
        code=code,
        zh=zh,
        en=en,
        group=group,
        zh_keywords=tuple(zh_keywords.split()),
        en_keywords=tuple(k.strip() for k in en_keywords.split("|") if k.strip()),
        departments=dict(departments),
        pickable=pickable,
        refines=tuple(refines.split()),
    )


# The table is laid out by hand, a few lines per entry, so it reads as a table (ruff check still runs).
# fmt: off
TABLE: tuple[Symptom, ...] = (
    # --- general and respiratory (内科) ---
    _s("fever", "发热", "fever", "general",
       "发烧 发热 高烧 低烧 发高烧 体温高 退烧",
       "fever|feverish|high temperature|a temperature|febrile", {"NK": 1.0, "ZY": 0.3}),
    _s("chills", "发冷、寒战", "chills", "general",
       "发冷 畏寒 打寒战 寒战 打冷战",
       "chill|chilly|shivering|shiver", {"NK": 0.8, "ZY": 0.3}),
    _s("common_cold", "感冒", "common cold / flu", "respiratory",
       "感冒 着凉 受凉 伤风 流感 重感冒",
       "a cold|common cold|caught a cold|flu|influenza", {"NK": 1.0, "ZY": 0.3, "EBH": 0.2}),
    _s("cough", "咳嗽", "cough", "respiratory",
       "咳嗽 干咳 咳痰 有痰 一直咳 老是咳 咳个不停",
       "cough|coughing|phlegm|sputum|mucus cough", {"NK": 1.0, "ZY": 0.3}),
    _s("breathlessness", "气短、呼吸困难", "shortness of breath", "respiratory",
       "喘不上气 喘不过气 气短 气喘 呼吸困难 憋气 哮喘 喘",
       "shortness of breath|short of breath|breathless|wheezing|wheeze|asthma|difficulty breathing|"
       "hard to breathe|cant breathe",
       {"NK": 1.0}),
    _s("body_aches", "全身酸痛", "body aches", "general",
       "全身酸痛 浑身酸痛 浑身疼 全身疼 肌肉酸痛 浑身难受",
       "body ache|aching all over|muscle ache|aches and pains|achy", {"NK": 1.0, "ZY": 0.3}),
    _s("fatigue", "乏力", "fatigue", "general",
       "乏力 没力气 浑身没劲 没劲 疲劳 疲惫 没精神 虚弱",
       "fatigue|tired|exhausted|no energy|weakness|weak|lethargic", {"NK": 1.0, "ZY": 0.5}),
    _s("checkup", "体检、复查", "check-up / follow-up", "general",
       "体检 复查 健康检查 开证明 化验 验血",
       "checkup|check up|physical exam|health check|blood test|follow up", {"NK": 1.0}),
    # --- digestive (内科) ---
    _s("stomach_ache", "胃痛", "stomach ache", "digestive",
       "胃疼 胃痛 胃不舒服 胃难受 胃胀 胃炎 胃溃疡 胃痉挛",
       "stomach ache|stomachache|stomach pain|gastritis|stomach upset|upset stomach|stomach ulcer",
       {"NK": 1.0, "ZY": 0.4}, refines="abdominal_pain"),
    _s("abdominal_pain", "腹痛", "abdominal pain", "digestive",
       "肚子疼 肚子痛 腹痛 肚子不舒服 腹部疼痛 小腹疼 肚子绞痛",
       "abdominal pain|belly pain|tummy ache|stomach cramp|belly ache|abdomen pain",
       {"NK": 1.0, "WK": 0.3, "ZY": 0.2}),
    _s("rlq_pain", "右下腹痛", "pain in the lower right abdomen", "digestive",
       "右下腹 阑尾 阑尾炎",
       "appendicitis|appendix|lower right abdomen|right lower abdomen|lower right side|right lower side",
       {"WK": 1.0, "NK": 0.6}, refines="abdominal_pain"),
    _s("diarrhea", "腹泻", "diarrhoea", "digestive",
       "拉肚子 腹泻 拉稀 窜稀 闹肚子 跑厕所 水样便",
       "diarrhea|diarrhoea|loose stool|watery stool|the runs", {"NK": 1.0, "ZY": 0.3}),
    _s("nausea_vomiting", "恶心、呕吐", "nausea / vomiting", "digestive",
       "恶心 呕吐 想吐 吐了 反胃 干呕 吐得",
       "nausea|nauseous|vomit|vomiting|vomited|throwing up|threw up|throw up|feel sick", {"NK": 1.0}),
    _s("acid_reflux", "反酸、烧心", "heartburn / acid reflux", "digestive",
       "反酸 烧心 泛酸 胃酸 打嗝",
       "heartburn|acid reflux|reflux|burping", {"NK": 1.0, "ZY": 0.3}),
    _s("indigestion", "消化不良、没胃口", "indigestion / poor appetite", "digestive",
       "消化不良 腹胀 胀气 没胃口 食欲不振 吃不下 不想吃饭",
       "indigestion|bloating|bloated|loss of appetite|no appetite|poor appetite", {"NK": 1.0, "ZY": 0.4}),
    _s("constipation", "便秘", "constipation", "digestive",
       "便秘 拉不出 大便干 排便困难 几天没大便",
       "constipation|constipated", {"NK": 1.0, "ZY": 0.5}),
    _s("food_poisoning", "食物中毒", "food poisoning", "digestive",
       "食物中毒 吃坏 吃坏肚子 吃了不干净",
       "food poisoning|bad food|ate something bad", {"NK": 1.0}),
    # --- head (内科) ---
    _s("headache", "头痛", "headache", "head",
       "头疼 头痛 偏头痛 脑袋疼 脑壳疼 头胀 太阳穴疼 头要炸",
       "headache|head hurt|migraine|head pain|head ache", {"NK": 1.0, "ZY": 0.3}),
    _s("dizziness", "头晕", "dizziness", "head",
       "头晕 头昏 眩晕 晕倒 头重脚轻 晕乎乎 天旋地转",
       "dizzy|dizziness|lightheaded|light headed|vertigo|fainted|faint", {"NK": 1.0, "EBH": 0.2, "ZY": 0.2}),
    # --- allergy ---
    _s("allergy", "过敏", "allergy", "allergy",
       "过敏 过敏反应 花粉过敏 海鲜过敏 药物过敏",
       "allergy|allergic|allergic reaction|pollen", {"NK": 1.0, "PF": 0.5, "EBH": 0.4}),
    _s("allergic_rhinitis", "过敏性鼻炎", "allergic rhinitis / hay fever", "nose",
       "过敏性鼻炎 鼻炎",
       "hay fever|allergic rhinitis|rhinitis",
       {"EBH": 1.0, "NK": 0.6}, refines="allergy runny_nose nasal_congestion"),
    _s("hives", "荨麻疹、风团", "hives", "skin",
       "荨麻疹 风团 风疹块 起疙瘩 起包",
       "hive|urticaria|welt", {"PF": 1.0, "NK": 0.5}, refines="itching rash"),
    # --- skin (皮肤科) ---
    _s("acne", "痤疮（长痘）", "acne", "skin",
       "长痘 痘痘 青春痘 痤疮 粉刺 闭口 爆痘 冒痘 痘印 长痘痘",
       "acne|pimple|zit|breakout|spot on my face|blackhead|whitehead", {"PF": 1.0, "ZY": 0.2}),
    _s("rash", "皮疹", "rash", "skin",
       "皮疹 疹子 红疹 起疹 出疹 红点 小红点 起红点 红斑",
       "rash|red spot|red bump|bumps on my skin|red patch", {"PF": 1.0}),
    _s("eczema", "湿疹、皮炎", "eczema / dermatitis", "skin",
       "湿疹 皮炎 皮肤干裂",
       "eczema|dermatitis", {"PF": 1.0}, refines="itching rash"),
    _s("itching", "皮肤瘙痒", "itchy skin", "skin",
       "瘙痒 发痒 很痒 好痒 皮肤痒 身上痒 痒得 痒死",
       "itchy skin|itching|itch|itchy|skin itch", {"PF": 0.7}),
    _s("fungal", "癣、脚气", "fungal infection (athlete's foot)", "skin",
       "脚气 香港脚 脚癣 足癣 体癣 股癣 手癣 癣 灰指甲 真菌 脚趾缝",
       "athlete's foot|fungal infection|fungal|fungus|ringworm|tinea|jock itch|nail fungus",
       {"PF": 1.0}, refines="itching"),
    _s("scalp", "头皮屑、头皮痒", "dandruff / itchy scalp", "skin",
       "头皮屑 头皮痒 头皮",
       "dandruff|itchy scalp|scalp", {"PF": 1.0}, refines="itching"),
    _s("hair_loss", "脱发", "hair loss", "skin",
       "脱发 掉头发 掉发 秃",
       "hair loss|losing hair|balding|bald spot", {"PF": 1.0, "ZY": 0.4}),
    _s("sunburn", "晒伤", "sunburn", "skin", "晒伤 晒黑 晒红 晒脱皮", "sunburn|sunburned|sunburnt", {"PF": 1.0}),
    _s("wart", "疣、瘊子", "wart", "skin", "疣 瘊子 扁平疣 跖疣", "wart|verruca", {"PF": 1.0}),
    _s("insect_bite", "蚊虫叮咬", "insect bite", "skin",
       "蚊子咬 虫子咬 虫咬 蚊虫叮咬 叮咬 被虫",
       "insect bite|bug bite|mosquito bite|bee sting|sting", {"PF": 1.0, "WK": 0.3}, refines="itching"),
    # --- eyes (眼科) ---
    _s("red_eye", "眼睛红", "red eye", "eye",
       "眼睛红 眼红 红眼病 结膜炎 眼睛充血 眼屎 眼睛有分泌物",
       "red eye|pink eye|conjunctivitis|bloodshot|eye discharge|eyes are red|eye is red", {"YK": 1.0}),
    _s("eye_itch", "眼睛痒", "itchy eyes", "eye",
       "眼睛痒 眼痒 眼睛发痒",
       "itchy eye|eye itch|eye itchy|eyes are itchy|eye is itchy", {"YK": 1.0, "NK": 0.2}, refines="itching"),
    _s("eye_pain", "眼睛疼", "eye pain", "eye",
       "眼睛疼 眼睛痛 眼痛 眼球疼 眼眶疼",
       "eye pain|sore eye|eye hurt|eye ache", {"YK": 1.0}),
    _s("vision_check", "视力检查、近视", "eye test / short-sightedness", "eye",
       "近视 视力 度数 配眼镜 看不清 看东西模糊 视物模糊 眼镜 散光 远视",
       "eye test|eye exam|vision test|eyesight|myopia|nearsighted|near sighted|short sighted|shortsighted|"
       "blurry vision|blurred vision|blurry|my glasses|new glasses|eyeglasses|prescription|cant see clearly",
       {"YK": 1.0}),
    _s("dry_eye", "眼干、视疲劳", "dry eyes / eye strain", "eye",
       "眼睛干 眼干 干涩 眼睛累 眼疲劳 视疲劳 眼睛酸",
       "dry eye|eye strain|eyestrain|tired eye|eye fatigue", {"YK": 1.0}),
    _s("stye", "麦粒肿（针眼）", "stye", "eye",
       "麦粒肿 针眼 霰粒肿 眼皮肿 眼睑肿 眼皮长包",
       "stye|sty|chalazion|swollen eyelid|eyelid bump", {"YK": 1.0}),
    _s("contact_lens", "隐形眼镜不适", "contact lens problem", "eye",
       "隐形眼镜 美瞳 角膜",
       "contact lens|contacts|cornea", {"YK": 1.0}),
    _s("eye_foreign_body", "眼睛进异物", "something in the eye", "eye",
       "眼睛进 眼里进 迷眼",
       "something in my eye|in my eye", {"YK": 1.0}),
    # --- ear, nose, throat (耳鼻喉科) ---
    _s("sore_throat", "咽痛（嗓子疼）", "sore throat", "throat",
       "嗓子疼 嗓子痛 喉咙痛 喉咙疼 咽痛 咽喉痛 咽炎 嗓子发炎 喉咙发炎 吞咽疼 咽东西疼 嗓子不舒服 喉咙不舒服",
       "sore throat|throat pain|throat hurt|pharyngitis|hurt to swallow|painful to swallow|scratchy throat|"
       "strep throat",
       {"EBH": 1.0, "NK": 0.6}),
    _s("hoarseness", "声音嘶哑", "hoarse voice", "throat",
       "嗓子哑 声音哑 失声 声音嘶哑 哑了",
       "hoarse|lost my voice|losing my voice", {"EBH": 1.0}),
    _s("throat_lump", "咽部异物感", "lump in the throat", "throat",
       "异物感 清嗓子 卡喉咙 鱼刺 卡住了",
       "lump in my throat|fish bone|something stuck", {"EBH": 1.0}),
    _s("tonsils", "扁桃体发炎", "tonsillitis", "throat",
       "扁桃体 扁桃腺",
       "tonsil|tonsillitis", {"EBH": 1.0, "NK": 0.4}, refines="sore_throat"),
    _s("ear_pain", "耳朵疼", "earache", "ear",
       "耳朵疼 耳朵痛 耳痛 中耳炎 外耳道炎 耳朵发炎 耳朵进水 耳朵流脓",
       "earache|ear ache|ear pain|ear infection|ear hurt|otitis", {"EBH": 1.0}),
    _s("ear_hearing", "耳鸣、听力下降", "tinnitus / hearing loss", "ear",
       "耳鸣 嗡嗡 听力下降 听不清 耳朵堵 耳闷 耳朵闷",
       "tinnitus|ringing in my ear|ringing|hearing loss|blocked ear|ear blocked|muffled", {"EBH": 1.0}),
    _s("nosebleed", "流鼻血", "nosebleed", "nose",
       "流鼻血 鼻出血 鼻子出血 鼻血",
       "nosebleed|nose bleed|bloody nose|nose bleeding", {"EBH": 1.0}),
    _s("nasal_congestion", "鼻塞", "stuffy nose", "nose",
       "鼻塞 鼻子堵 鼻子不通气 鼻子不通 鼻子塞",
       "stuffy nose|blocked nose|nasal congestion|congested|stuffed up", {"EBH": 1.0, "NK": 0.6}),
    _s("runny_nose", "流鼻涕、打喷嚏", "runny nose / sneezing", "nose",
       "流鼻涕 流涕 鼻涕 清鼻涕 打喷嚏 喷嚏",
       "runny nose|sneezing|sneeze|snot|nose running", {"EBH": 1.0, "NK": 0.6}),
    _s("sinusitis", "鼻窦炎", "sinusitis", "nose",
       "鼻窦炎 黄鼻涕 脓鼻涕 鼻窦",
       "sinusitis|sinus|sinus infection|yellow mucus|green mucus",
       {"EBH": 1.0}, refines="runny_nose nasal_congestion"),
    # --- teeth and mouth (口腔科) ---
    _s("toothache", "牙痛", "toothache", "mouth",
       "牙疼 牙痛 牙齿疼 牙齿痛 蛀牙 龋齿 虫牙 牙洞",
       "toothache|tooth ache|tooth hurt|tooth pain|cavity|tooth decay|teeth hurt", {"KQ": 1.0}),
    _s("gum_bleeding", "牙龈出血、牙龈肿痛", "bleeding or swollen gums", "mouth",
       "牙龈出血 牙龈肿 牙龈疼 牙龈炎 牙周炎 牙周 牙龈",
       "bleeding gum|gum bleed|gum bleeding|swollen gum|gingivitis|gum", {"KQ": 1.0}),
    _s("wisdom_tooth", "智齿", "wisdom tooth", "mouth",
       "智齿 拔牙 长牙",
       "wisdom tooth|wisdom teeth|tooth extraction|pull a tooth", {"KQ": 1.0}, refines="toothache"),
    _s("mouth_ulcer", "口腔溃疡", "mouth ulcer", "mouth",
       "口腔溃疡 溃疡 口疮 嘴里长泡 嘴巴破了",
       "mouth ulcer|canker sore|ulcer|mouth sore", {"KQ": 1.0, "ZY": 0.2}),
    _s("tooth_sensitivity", "牙齿敏感", "sensitive teeth", "mouth",
       "牙齿敏感 牙敏感 冷热敏感 倒牙 牙酸",
       "sensitive teeth|sensitive tooth|tooth sensitivity", {"KQ": 1.0}),
    _s("dental_care", "洗牙、补牙、正畸", "cleaning, filling, braces", "mouth",
       "洗牙 补牙 牙结石 正畸 矫正牙 牙套 镶牙",
       "teeth cleaning|dental check|dental|dentist|filling|brace|orthodontic", {"KQ": 1.0}),
    # --- injuries (外科) ---
    _s("sprain", "扭伤（崴脚）", "sprain", "injury",
       "崴脚 扭伤 扭到 崴了 脚崴 拉伤 韧带 扭了",
       "sprain|sprained|twisted|twist|rolled my ankle|pulled muscle|pulled a muscle|strain|ligament",
       {"WK": 1.0, "ZY": 0.3}),
    _s("cut", "割伤、擦伤", "cut / graze", "injury",
       "划伤 割伤 划了个口子 口子 伤口 割破 划破 刀伤 擦伤 磕破 出血 流血",
       "cut|laceration|wound|bleeding|scrape|graze|gash", {"WK": 1.0}),
    _s("fracture", "疑似骨折", "suspected fracture", "injury",
       "骨折 骨裂 断了 动不了",
       "fracture|fractured|broken bone|broken my|broke my|broken arm|broken leg", {"WK": 1.0}),
    _s("sports_injury", "运动损伤、摔伤", "sports injury / fall", "injury",
       "运动损伤 打球受伤 摔伤 摔倒 摔了 跌倒 撞伤 磕伤 淤青 摔了一跤 受伤",
       "sports injury|fell|a fall|fell off|injured|injury|bruise|bruised|hurt my", {"WK": 1.0, "ZY": 0.2}),
    _s("burn", "烧伤、烫伤", "burn / scald", "injury",
       "烫伤 烫到 烧伤 开水烫 烫了 烫伤起泡",
       "burn|burned|burnt|scald|scalded", {"WK": 1.0, "PF": 0.3}),
    _s("animal_bite", "动物咬伤、抓伤", "animal bite or scratch", "injury",
       "被狗咬 狗咬 猫抓 被猫抓 抓伤 咬伤 狂犬",
       "dog bite|bitten by a dog|cat scratch|scratched by a cat|animal bite|rabies", {"WK": 1.0, "NK": 0.4}),
    _s("lump", "肿块", "lump", "injury",
       "肿块 包块 淋巴结肿大 淋巴结",
       "lump|swollen lymph node|lymph node", {"WK": 1.0, "NK": 0.5}),
    # --- muscles and joints ---
    _s("joint_pain", "关节痛、膝盖痛", "joint or knee pain", "musculoskeletal",
       "膝盖疼 膝盖痛 关节疼 关节痛 半月板 膝盖 脚踝 手腕",
       "knee pain|joint pain|knee hurt|knee|ankle|wrist|joint", {"WK": 1.0, "ZY": 0.4}),
    _s("back_pain", "腰背痛", "back pain", "musculoskeletal",
       "腰疼 腰痛 腰酸 腰肌劳损 背疼 背痛 腰椎 腰间盘",
       "back pain|backache|lower back|back hurt|my back", {"WK": 1.0, "ZY": 0.7}),
    _s("neck_shoulder", "颈肩痛", "neck or shoulder pain", "musculoskeletal",
       "颈椎 脖子疼 脖子痛 落枕 肩膀疼 肩膀酸 肩颈 肩周 颈肩",
       "neck pain|stiff neck|shoulder pain|sore neck|sore shoulder|neck|shoulder", {"ZY": 1.0, "WK": 0.8}),
    # --- mental health (心理咨询) ---
    _s("anxiety", "焦虑、紧张", "anxiety", "mental",
       "焦虑 紧张 不安 恐慌 惊恐 心神不宁 坐立不安",
       "anxiety|anxious|panic|panic attack|nervous|on edge", {"XL": 1.0}),
    _s("low_mood", "情绪低落", "low mood", "mental",
       "情绪低落 心情低落 低落 心情不好 抑郁 郁闷 不开心 难过 想哭 没有兴趣 没兴趣 提不起劲 沮丧 绝望 没意思",
       "depressed|depression|low mood|feeling down|feel down|sad|hopeless|no motivation|unmotivated|empty|crying",
       {"XL": 1.0}),
    _s("stress", "压力大", "stress", "mental",
       "压力大 压力 烦躁 心烦 崩溃 受不了 很烦 好烦",
       "stress|stressed|stressed out|overwhelmed|burnout|burned out", {"XL": 1.0}),
    _s("exam_pressure", "考试、学业压力", "exam or study pressure", "mental",
       "考试焦虑 考试压力 学业压力 考试 考研 期末 挂科 论文 作业太多",
       "exam stress|exam anxiety|exam|final|coursework|deadline|thesis|grade", {"XL": 1.0}),
    _s("relationships", "人际关系困扰", "relationship worries", "mental",
       "人际关系 室友 吵架 分手 失恋 孤独 想家 被孤立",
       "roommate|breakup|broke up|lonely|loneliness|homesick|relationship", {"XL": 1.0}),
    _s("self_harm", "自伤念头", "thoughts of self-harm", "mental",
       "自杀 不想活 轻生 伤害自己 自残 活着没意思",
       "suicidal|suicide|kill myself|self harm|hurt myself|end my life", {"XL": 1.0}),
    _s("concentration", "注意力不集中", "poor concentration", "mental",
       "注意力不集中 集中不了 走神 记忆力下降",
       "cant focus|cannot focus|cant concentrate|cannot concentrate|trouble concentrating|poor concentration",
       {"XL": 1.0}),
    _s("insomnia", "失眠", "insomnia", "sleep",
       "失眠 睡不着 睡不好 入睡困难 早醒 多梦 睡眠不好 半夜醒 睡不踏实",
       "insomnia|cant sleep|cannot sleep|can not sleep|trouble sleeping|sleepless|awake at night|lying awake|"
       "poor sleep|sleep badly",
       {"XL": 1.0, "ZY": 0.8}),
    # --- traditional Chinese medicine (中医科) ---
    _s("tcm_conditioning", "中医调理", "TCM conditioning", "tcm",
       "调理 调一调 中医 体质 气虚 湿气 上火 体虚 养生 手脚冰凉 手脚冰冷",
       "tcm|traditional chinese medicine|chinese medicine|conditioning|improve my health|cold hands", {"ZY": 1.0}),
    _s("acupuncture", "针灸、拔罐", "acupuncture / cupping", "tcm",
       "针灸 扎针 艾灸 拔罐 刮痧",
       "acupuncture|cupping|moxibustion", {"ZY": 1.0}),
    _s("herbal_medicine", "中药", "herbal medicine", "tcm",
       "中药 中成药 草药 汤药 膏方",
       "herbal medicine|herbal|herb|chinese herb", {"ZY": 1.0}),
    _s("tuina", "推拿、按摩", "tuina massage", "tcm",
       "推拿 按摩 理疗 正骨",
       "massage|tuina|physiotherapy", {"ZY": 1.0, "WK": 0.2}),
    # --- menstrual ---
    _s("menstrual_pain", "痛经", "period pain", "menstrual",
       "痛经 例假疼 姨妈痛 月经痛 经期 大姨妈 来例假 生理期",
       "period pain|period cramp|menstrual cramp|menstrual pain|dysmenorrhea",
       {"NK": 1.0, "ZY": 0.8}, refines="abdominal_pain"),
    _s("irregular_period", "月经不调", "irregular periods", "menstrual",
       "月经不调 月经推迟 月经不规律 月经没来 闭经 经量",
       "irregular period|missed period|late period|period is late", {"NK": 1.0, "ZY": 0.8}),
    # --- urinary ---
    _s("urinary", "尿频、尿急、尿痛", "urinary problem", "urinary",
       "尿频 尿急 尿痛 小便痛 小便疼 排尿 尿道 尿血 憋尿 小便",
       "frequent urination|painful urination|pee|peeing|urinate|urination|uti|urinary|bladder",
       {"NK": 1.0, "WK": 0.3}),
    # --- heart and blood pressure (内科) ---
    _s("palpitations", "心慌、心悸", "palpitations", "cardio",
       "心慌 心悸 心跳快 心跳加速 心跳 心律不齐 早搏",
       "palpitation|heart racing|racing heart|heart pounding|irregular heartbeat|heart skip|skipped beat",
       {"NK": 1.0}),
    _s("chest_tightness", "胸闷、胸痛", "chest tightness or pain", "cardio",
       "胸闷 胸痛 胸口疼 胸口痛 胸口闷 心口疼 胸口",
       "chest tightness|chest pain|tight chest|chest hurt|chest pressure|chest", {"NK": 1.0, "WK": 0.2}),
    _s("blood_pressure", "血压异常", "blood pressure", "cardio",
       "血压高 高血压 血压 低血压",
       "blood pressure|hypertension|high blood pressure", {"NK": 1.0}),
    # --- body-location cues: weak evidence for free text only, not offered in the picker ---
    _s("cue_eye", "眼部", "eye", "eye", "眼睛 眼皮 眼部 眼角 眼", "eye|eyelid", {"YK": 0.5}, pickable=False),
    _s("cue_ear", "耳部", "ear", "ear", "耳朵 耳", "ear", {"EBH": 0.5}, pickable=False),
    _s("cue_nose", "鼻部", "nose", "nose", "鼻子 鼻", "nose|nasal", {"EBH": 0.5}, pickable=False),
    _s("cue_throat", "咽喉", "throat", "throat",
       "嗓子 喉咙 咽喉 咽",
       "throat|swallow", {"EBH": 0.5}, pickable=False),
    _s("cue_mouth", "口腔", "mouth", "mouth",
       "牙齿 牙 嘴里 口腔 舌头",
       "tooth|teeth|mouth|tongue|chew", {"KQ": 0.5}, pickable=False),
    _s("cue_skin", "皮肤", "skin", "skin", "皮肤 脱皮 起皮", "skin|peeling", {"PF": 0.5}, pickable=False),
    _s("cue_stomach", "胃肠", "stomach", "digestive",
       "胃 肚子",
       "stomach|belly|tummy", {"NK": 0.5}, pickable=False),
    _s("cue_heart", "心脏", "heart", "cardio", "心脏", "heart", {"NK": 0.5}, pickable=False),
)
# fmt: on


def check_table(table: tuple[Symptom, ...] = TABLE) -> None:
    """Raise ValueError when the table is malformed (run at import; tests call it too).

    English keywords are checked for duplicates after normalisation, in ``triage``.
    """
    codes = [s.code for s in table]
    if len(codes) != len(set(codes)):
        raise ValueError("duplicate symptom codes")
    seen: dict[str, str] = {}
    for symptom in table:
        if symptom.group not in GROUPS:
            raise ValueError(f"{symptom.code}: unknown group {symptom.group!r}")
        if not set(symptom.refines) <= set(codes) or symptom.code in symptom.refines:
            raise ValueError(f"{symptom.code}: refines unknown codes or itself")
        if not symptom.departments or not all(d in DEPARTMENTS and 0 < w <= 1 for d, w in symptom.departments.items()):
            raise ValueError(f"{symptom.code}: departments must be known codes with weights in (0, 1]")
        for keyword in symptom.zh_keywords:
            if keyword in seen:
                raise ValueError(f"keyword {keyword!r} in both {seen[keyword]} and {symptom.code}")
            seen[keyword] = symptom.code


check_table()

"""The texts every kind of message starts with, in Simplified Chinese and English.

The data migration ``0002_seed_templates`` copies them into ``MessageTemplate`` rows, which the
admin edits from then on; rendering falls back to these when a row is missing or broken. Changing a
text here changes only new installations and the fallback: ship a data migration to change rows.
"""

from __future__ import annotations

from typing import Final

from smartclinic.notifications.choices import MessageKind

APPOINTMENT_VARIABLES: Final = (
    "patient_name",
    "department",
    "doctor",
    "doctor_title",
    "date",
    "weekday",
    "time",
    "room",
    "location",
    "fee",
)

# The values each kind's template can use (all plain text, numbers or yes/no).
VARIABLES: Final[dict[str, tuple[str, ...]]] = {
    MessageKind.BOOKING_CONFIRMED: APPOINTMENT_VARIABLES,
    MessageKind.BOOKING_CANCELLED: (*APPOINTMENT_VARIABLES, "was_paid"),
    MessageKind.BOOKING_CANCELLED_BY_CLINIC: (*APPOINTMENT_VARIABLES, "reason", "was_paid", "rebook_time"),
    MessageKind.BOOKING_RESCHEDULED: (*APPOINTMENT_VARIABLES, "old_date", "old_time"),
    MessageKind.WAITLIST_OFFERED: (*APPOINTMENT_VARIABLES, "confirm_by"),
    MessageKind.REMINDER_EVENING: APPOINTMENT_VARIABLES,
    MessageKind.REMINDER_HOUR: APPOINTMENT_VARIABLES,
    MessageKind.ORDERS_TO_PAY: ("patient_name", "amount"),
    MessageKind.PAYMENT_RECEIVED: (*APPOINTMENT_VARIABLES, "amount", "method", "purpose", "has_appointment"),
    MessageKind.REFUND_SUCCEEDED: ("patient_name", "amount"),
    MessageKind.TICKET_ISSUED: (*APPOINTMENT_VARIABLES, "code"),
    MessageKind.TURN_NEAR: (*APPOINTMENT_VARIABLES, "code", "ahead"),
    MessageKind.TICKET_CALLED: (*APPOINTMENT_VARIABLES, "code"),
    MessageKind.VISIT_SUMMARY: (*APPOINTMENT_VARIABLES, "evaluation_url"),
    MessageKind.NO_SHOW_RECORDED: (*APPOINTMENT_VARIABLES, "no_show_limit", "window_days"),
    MessageKind.BOOKING_BLOCKED: ("patient_name", "until"),
}

_VISIT = "{{ date }} {{ time }} {{ department }} {{ doctor }}医生"
_VISIT_EN = "{{ date }} at {{ time }} ({{ department }}, Dr {{ doctor }})"

# kind -> language -> (title, body)
DEFAULT_TEMPLATES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    MessageKind.BOOKING_CONFIRMED: {
        "zh-hans": (
            "预约成功",
            "{{ patient_name }}，您已预约 {{ date }}（{{ weekday }}）{{ time }} {{ department }} {{ doctor }}医生。"
            "{% if room %}就诊地点：{{ room }}。{% endif %}"
            "请按时到院签到；如需取消，请在截止时间前通过“我的预约”办理。",
        ),
        "en": (
            "Appointment confirmed",
            "{{ patient_name }}, your appointment is booked: {{ weekday }} {{ date }} at {{ time }}, {{ department }}, "
            "Dr {{ doctor }}.{% if room %} Room: {{ room }}.{% endif %} Please check in on time; to cancel, use "
            "My appointments before the deadline.",
        ),
    },
    MessageKind.BOOKING_CANCELLED: {
        "zh-hans": (
            "预约已取消",
            "{{ patient_name }}，您 " + _VISIT + " 的预约已取消。{% if was_paid %}已付挂号费将原路退回。{% endif %}",
        ),
        "en": (
            "Appointment cancelled",
            "{{ patient_name }}, your appointment on " + _VISIT_EN + " is cancelled."
            "{% if was_paid %} The fee you paid will be refunded to where it came from.{% endif %}",
        ),
    },
    MessageKind.BOOKING_CANCELLED_BY_CLINIC: {
        "zh-hans": (
            "医院取消了您的预约",
            "{{ patient_name }}，很抱歉，您 " + _VISIT + " 的预约因“{{ reason }}”已被医院取消。"
            "{% if was_paid %}已付挂号费将全额退回。{% endif %}"
            "{% if rebook_time %}我们为您保留了 {{ rebook_time }} 的同类号源，可在“我的预约”中一键改约。{% endif %}",
        ),
        "en": (
            "The clinic cancelled your appointment",
            "{{ patient_name }}, we are sorry: your appointment on " + _VISIT_EN + " was cancelled by the clinic. "
            "Reason: {{ reason }}.{% if was_paid %} Your fee will be refunded in full.{% endif %}"
            "{% if rebook_time %} A similar place at {{ rebook_time }} is kept for you: rebook it in one tap under "
            "My appointments.{% endif %}",
        ),
    },
    MessageKind.BOOKING_RESCHEDULED: {
        "zh-hans": (
            "预约已改期",
            "{{ patient_name }}，您的预约已由 {{ old_date }} {{ old_time }} "
            "改为 {{ date }}（{{ weekday }}）{{ time }}，{{ department }} {{ doctor }}医生。",
        ),
        "en": (
            "Appointment moved",
            "{{ patient_name }}, your appointment moved from {{ old_date }} {{ old_time }} to {{ weekday }} {{ date }} "
            "at {{ time }} ({{ department }}, Dr {{ doctor }}).",
        ),
    },
    MessageKind.WAITLIST_OFFERED: {
        "zh-hans": (
            "候补成功，请确认",
            "{{ patient_name }}，您候补的 " + _VISIT + " 的号源已为您保留，请在 {{ confirm_by }} 前确认或支付，"
            "逾期将顺延给下一位候补者。",
        ),
        "en": (
            "A place is free for you: please confirm",
            "{{ patient_name }}, a place you were waiting for is held for you: " + _VISIT_EN + ". Confirm or pay by "
            "{{ confirm_by }}, or it passes to the next person in line.",
        ),
    },
    MessageKind.REMINDER_EVENING: {
        "zh-hans": (
            "明日就诊提醒",
            "{{ patient_name }}，提醒您明天（{{ date }}）{{ time }} 在 {{ department }} 就诊，{{ doctor }}医生。"
            "{% if room %}地点：{{ room }}。{% endif %}请携带校园卡，提前到院签到。",
        ),
        "en": (
            "Reminder: your visit tomorrow",
            "{{ patient_name }}, a reminder of your visit tomorrow ({{ date }}) at {{ time }}: {{ department }}, "
            "Dr {{ doctor }}.{% if room %} Room: {{ room }}.{% endif %} Bring your campus card and check in a "
            "little early.",
        ),
    },
    MessageKind.REMINDER_HOUR: {
        "zh-hans": (
            "就诊提醒：即将开始",
            "{{ patient_name }}，您预约的 {{ department }} {{ doctor }}医生将于今天 {{ time }} 开始就诊，"
            "请尽快到院签到。",
        ),
        "en": (
            "Your visit starts within the hour",
            "{{ patient_name }}, your visit with Dr {{ doctor }} ({{ department }}) starts today at {{ time }}. "
            "Please come and check in.",
        ),
    },
    MessageKind.ORDERS_TO_PAY: {
        "zh-hans": (
            "待缴费",
            "{{ patient_name }}，医生为您开具的检查或药品{% if amount %}共 {{ amount }} 元{% endif %}，"
            "可在手机上直接缴费，缴费后凭缴费记录检查或取药。",
        ),
        "en": (
            "Your doctor's orders are ready to pay",
            "{{ patient_name }}, the tests or medicines your doctor ordered{% if amount %} come to ¥{{ amount }}"
            "{% endif %}. You can pay on your phone, then go for the tests or collect the medicines.",
        ),
    },
    MessageKind.PAYMENT_RECEIVED: {
        "zh-hans": (
            "支付成功",
            "已收到您的付款 {{ amount }} 元{% if purpose %}（{{ purpose }}）{% endif %}"
            "{% if method %}，支付方式：{{ method }}{% endif %}。"
            "{% if has_appointment %}就诊：" + _VISIT + "。{% endif %}",
        ),
        "en": (
            "Payment received",
            "We received your payment of ¥{{ amount }}{% if purpose %} ({{ purpose }}){% endif %}"
            "{% if method %} by {{ method }}{% endif %}.{% if has_appointment %} Visit: " + _VISIT_EN + ".{% endif %}",
        ),
    },
    MessageKind.REFUND_SUCCEEDED: {
        "zh-hans": ("退款成功", "您的退款 {{ amount }} 元已原路退回，请留意到账信息。"),
        "en": ("Refund completed", "Your refund of ¥{{ amount }} has been sent back to where you paid from."),
    },
    MessageKind.TICKET_ISSUED: {
        "zh-hans": (
            "排号成功",
            "{{ patient_name }}，您的排队号为 {{ code }}（{{ department }} {{ doctor }}医生，{{ date }}）。"
            "到院后请签到，快到您时我们会通知您。",
        ),
        "en": (
            "Your queue number",
            "{{ patient_name }}, your queue number is {{ code }} ({{ department }}, Dr {{ doctor }}, {{ date }}). "
            "Check in when you arrive; we will tell you when your turn is near.",
        ),
    },
    MessageKind.TURN_NEAR: {
        "zh-hans": (
            "即将到您就诊",
            "{{ code }} 号 {{ patient_name }}，您前面还有 {{ ahead }} 位，"
            "请到{% if room %} {{ room }} {% endif %}诊室门口候诊。",
        ),
        "en": (
            "Your turn is near",
            "{{ patient_name }} ({{ code }}): {{ ahead }} people are ahead of you. Please wait by "
            "{% if room %}{{ room }}{% else %}the consulting room{% endif %}.",
        ),
    },
    MessageKind.TICKET_CALLED: {
        "zh-hans": ("请您就诊", "请 {{ code }} 号 {{ patient_name }} 到{% if room %} {{ room }} {% endif %}诊室就诊。"),
        "en": (
            "It is your turn",
            "{{ patient_name }} ({{ code }}), please go to {% if room %}{{ room }}{% else %}the consulting room"
            "{% endif %} now.",
        ),
    },
    MessageKind.VISIT_SUMMARY: {
        "zh-hans": (
            "就诊完成，请评价",
            "{{ patient_name }}，您在 {{ department }} 的就诊已完成（{{ doctor }}医生）。"
            "欢迎为本次服务评价，帮助我们改进。",
        ),
        "en": (
            "Visit finished: tell us how it went",
            "{{ patient_name }}, your visit at {{ department }} with Dr {{ doctor }} is finished. "
            "Please rate it to help us improve.",
        ),
    },
    MessageKind.NO_SHOW_RECORDED: {
        "zh-hans": (
            "爽约记录",
            "{{ patient_name }}，您 {{ date }} {{ time }} {{ department }} 的预约未按时签到，已记为爽约。"
            "{{ window_days }} 天内爽约 {{ no_show_limit }} 次将暂停在线预约。",
        ),
        "en": (
            "Missed appointment recorded",
            "{{ patient_name }}, you did not check in for your appointment on {{ date }} at {{ time }} "
            "({{ department }}), so it was recorded as a no-show. {{ no_show_limit }} no-shows within "
            "{{ window_days }} days pause online booking.",
        ),
    },
    MessageKind.BOOKING_BLOCKED: {
        "zh-hans": (
            "在线预约已暂停",
            "{{ patient_name }}，由于多次爽约，您的在线预约暂停至 {{ until }}。如有疑问，请联系校医院。",
        ),
        "en": (
            "Online booking paused",
            "{{ patient_name }}, after repeated no-shows, online booking is paused until {{ until }}. "
            "Contact the clinic if you have questions.",
        ),
    },
}

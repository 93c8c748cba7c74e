"""History rows keep the portal's own texts as a message code and parameters (funding.messages), rendered in
the reader's language; this adds the two columns and turns the system-written comments it recognises, in
Chinese or English as they were stored, into codes. Comments it does not recognise are what staff typed and
stay as they are. The patterns are frozen here: later edits of the translations must not change them."""

import re

from django.db import migrations, models

AMOUNT = r"(?P<amount>[\d,]+\.\d{2})"
DATE = r"(?P<date>\d{4}-\d{2}-\d{2})"

# (code, action the row must have or None, patterns in English and Chinese). Each named group is a parameter;
# "reasons" is what staff typed and becomes the row's comment.
PATTERNS = [
    (
        "document_attached",
        "funding.application.document_attached",
        [r"Document attached: (?P<title>.+)", r"已添加文件：(?P<title>.+)"],
    ),
    (
        "document_removed",
        "funding.application.document_detached",
        [r"Document removed: (?P<title>.+)", r"已移除文件：(?P<title>.+)"],
    ),
    (
        "instalment_paid",
        "funding.disbursement.recorded",
        [
            rf"Instalment (?P<number>\d+) of {AMOUNT} yuan paid on {DATE}\.",
            rf"第 (?P<number>\d+) 期 {AMOUNT} 元已于 {DATE} 拨付。",
        ],
    ),
    ("paid_in_full", "funding.application.close", [r"The approved amount has been paid in full\.", r"批准金额已全部拨付。"]),
    (
        "acceptance_recorded",
        "funding.acceptance.recorded",
        [
            r"Final acceptance: (?P<result>passed|failed)\. (?P<reasons>.*)",
            r"结题验收：(?P<result>通过|已失败|未通过)。(?P<reasons>.*)",
        ],
    ),
    (
        "repayment_received",
        "funding.repayment.recorded",
        [
            rf"Repayment of {AMOUNT} yuan received on {DATE}\.",
            rf"已于 {DATE} 收到退回款 {AMOUNT} 元。",
        ],
    ),
    (
        "recovery_repaid",
        "funding.application.complete_recovery",
        [r"The recovery order has been repaid\.", r"追回单已全额退回。"],
    ),
]
RESULTS = {"passed": "passed", "failed": "failed", "通过": "passed", "已失败": "failed", "未通过": "failed"}

COMPILED = [(code, action, [re.compile(p, re.DOTALL) for p in patterns]) for code, action, patterns in PATTERNS]


def recognise(action: str, comment: str):
    """(code, params, comment left) for a system-written comment, or None for what staff typed."""
    for code, wanted, patterns in COMPILED:
        if action != wanted:
            continue
        for pattern in patterns:
            match = pattern.fullmatch(comment.strip())
            if match is None:
                continue
            params = match.groupdict()
            left = params.pop("reasons", "") or ""
            if "amount" in params:
                params["amount"] = params["amount"].replace(",", "")
            if "number" in params:
                params["number"] = int(params["number"])
            if "result" in params:
                params["result"] = RESULTS[params["result"]]
            return code, params, left.strip()
    return None


def to_codes(apps, schema_editor):
    Event = apps.get_model("funding", "ApplicationEvent")
    actions = {action for _code, action, _patterns in PATTERNS}
    changed = []
    rows = Event.objects.filter(action__in=actions, message="").exclude(comment="").only("pk", "action", "comment")
    for event in rows.iterator(chunk_size=2000):
        found = recognise(event.action, event.comment)
        if found is None:
            continue
        event.message, event.params, event.comment = found
        changed.append(event)
        if len(changed) >= 2000:
            Event.objects.bulk_update(changed, ["message", "params", "comment"])
            changed = []
    if changed:
        Event.objects.bulk_update(changed, ["message", "params", "comment"])


# Back to texts, in the portal's default language (Chinese), as they were stored before.
CHINESE = {
    "document_attached": "已添加文件：{title}",
    "document_removed": "已移除文件：{title}",
    "instalment_paid": "第 {number} 期 {amount} 元已于 {date} 拨付。",
    "paid_in_full": "批准金额已全部拨付。",
    "acceptance_recorded": "结题验收：{result}。",
    "repayment_received": "已于 {date} 收到退回款 {amount} 元。",
    "recovery_repaid": "追回单已全额退回。",
}


def to_texts(apps, schema_editor):
    Event = apps.get_model("funding", "ApplicationEvent")
    for event in Event.objects.exclude(message="").iterator(chunk_size=2000):
        params = dict(event.params or {})
        if "amount" in params:
            params["amount"] = f"{float(params['amount']):,.2f}"
        if "result" in params:
            params["result"] = {"passed": "通过", "failed": "已失败"}.get(params["result"], params["result"])
        try:
            text = CHINESE[event.message].format(**params)
        except (KeyError, IndexError):
            text = event.message
        event.comment = text + event.comment
        event.save(update_fields=["comment"])


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0008_demo_policy_notice_in_minutes"),
    ]

    operations = [
        migrations.AddField(
            model_name="applicationevent",
            name="message",
            field=models.CharField(blank=True, db_default="", default="", max_length=40, verbose_name="message"),
        ),
        migrations.AddField(
            model_name="applicationevent",
            name="params",
            field=models.JSONField(blank=True, db_default={}, default=dict, verbose_name="message parameters"),
        ),
        migrations.RunPython(to_codes, to_texts),
    ]

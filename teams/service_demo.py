"""Demo service requests: the demo applicant's resident entity asks each of the four lines, with requests at
every step of the workflow, ratings, and one overdue. Run after the teams seed (teams.demo.seed calls it)."""

import datetime

from django.utils import timezone

from teams import service_requests as services
from teams.models import Entity
from teams.service_models import ServiceRequest
from valley.core import roles
from valley.models import ServiceLine, User

# (line code, subject, details, how far it goes, days ago it was made)
REQUESTS = [
    ("finance", "对接天使投资", "希望对接省天使基金及合作机构，完成首轮融资。", "rated", 3),
    ("finance", "科技贷款贴息申报", "咨询科技型中小企业贷款贴息的申报条件和材料。", "resolved", 2),
    ("government-affairs", "办理工商变更", "公司注册地址变更，请协助办理。", "in_progress", 2),
    ("government-affairs", "高新技术企业认定咨询", "了解高企认定的时间安排与材料。", "rejected", 4),
    ("technology", "中试设备共享预约", "需要预约公共中试平台的反应釜设备两周。", "accepted", 1),
    ("technology", "检测报告出具", "样品性能检测，需出具第三方报告。", "overdue", 30),
    ("achievement-transformation", "专利许可谈判支持", "专利许可给合作企业，需要评估和谈判支持。", "submitted", 0),
    ("achievement-transformation", "成果评价", "申请科技成果评价。", "closed", 12),
]


def seed(log) -> None:
    applicant = User.objects.filter(email__startswith="applicant@").first()
    entity = Entity.objects.filter(owner=applicant).order_by("pk").first() if applicant else None
    if entity is None or ServiceRequest.objects.filter(entity=entity).exists():
        return
    lines = {line.code: line for line in ServiceLine.objects.all()}
    staff = {
        line.code: line.lead
        or User.objects.filter(groups__name=roles.SERVICE_LINE_STAFF, service_lines=line).order_by("pk").first()
        for line in lines.values()
    }
    now = timezone.now()
    for code, subject, details, step, days_ago in REQUESTS:
        line, handler = lines.get(code), staff.get(code)
        if line is None or handler is None:
            continue
        request = services.service_request_submit(
            entity=entity,
            line=line,
            by=applicant,
            subject=subject,
            details=details,
            preferred_contact="工作日 9:00–17:00，13800000000",
            now=now - datetime.timedelta(days=days_ago),
        )
        if step == "submitted":
            continue
        if step == "rejected":
            services.service_request_reject(
                request=request, by=handler, reason="该事项不属于本条线受理范围，请咨询税务部门。"
            )
            continue
        if step == "overdue":
            continue  # left open past its due date: the beat task tells the line's lead
        services.service_request_accept(request=request, by=handler, handler=handler)
        if step == "accepted":
            continue
        services.service_request_message(request=request, by=handler, body="已收到，请补充相关材料。")
        services.service_request_message(request=request, by=applicant, body="材料已补充，谢谢。")
        if step == "in_progress":
            continue
        services.service_request_resolve(request=request, by=handler, resolution="已办结，详见消息记录。")
        if step == "rated":
            services.service_request_rate(request=request, by=applicant, rating=5, comment="响应及时，非常专业。")
        elif step == "closed":
            services.service_request_rate(request=request, by=applicant, rating=4, comment="整体满意。")
    log(f"teams: {ServiceRequest.objects.filter(entity=entity).count()} service requests")

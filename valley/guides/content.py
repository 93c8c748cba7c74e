"""The six service guides (办事指南) as the valley first publishes them; staff keep them up to date in the admin.

`ensure_guides` runs after every migrate (valley/apps.py), like the fund's default policy: it adds a guide
that is missing (a new database, a flushed test database) and never overwrites one staff have edited.
"""

CONTACT_ZH = (
    "晋创谷综合服务中心（太原市小店区）\n电话：0351-7000100\n邮箱：service@jinchuanggu.example.cn\n工作日 9:00–17:30"
)
CONTACT_EN = (
    "Shanxi Innovation Valley service centre (Xiaodian District, Taiyuan)\n"
    "Phone: 0351-7000100\nE-mail: service@jinchuanggu.example.cn\nWorking days 9:00–17:30"
)

GUIDES = [
    {
        "service": "fund",
        "sort_order": 1,
        "name_zh": "创新创业启动资金申请",
        "name_en": "Applying for the innovation start-up fund",
        "who_may_apply_zh": "已入驻晋创谷分园（已遴选或已入驻）的科研团队或初创企业；此前未获得过创业启动资金，且没有进行中的申请。申请人须已确认电子邮箱。",  # noqa: E501
        "who_may_apply_en": (
            "A research team or startup resident in a sub-venue of the valley (selected or entered) that has never "
            "been granted the start-up fund and has no open application. The applicant's e-mail must be confirmed."
        ),
        "materials_zh": "1. 申请书（申请金额、用途、实施计划）\n2. 商业计划书\n3. 成果证明材料（专利证书、软件著作权等）\n4. 团队主要成员名单",  # noqa: E501
        "materials_en": (
            "1. The application (amount, purpose, plan)\n2. A business plan\n"
            "3. Evidence of the achievement (patent certificates, software copyrights, ...)\n4. The core team members"
        ),
        "steps_zh": "1. 入驻分园\n2. 在线填写申请并提交\n3. 形式审查与专家评审\n4. 审批与公示\n5. 注册公司（政府代办）\n6. 签订协议，分期拨付",  # noqa: E501
        "steps_en": (
            "1. Enter a sub-venue\n2. Fill in and submit the application online\n"
            "3. Completeness check and expert review\n4. Approval and public notice\n"
            "5. Company registration (handled by government staff)\n6. Agreement and disbursement in instalments"
        ),
        "time_limit_working_days": 30,
        "time_limit_zh": "自提交之日起，材料齐全的申请在30个工作日内作出审批决定（公示期另计）。",
        "time_limit_en": "A decision within 30 working days of a complete submission (the public notice comes after).",
    },
    {
        "service": "residency",
        "sort_order": 2,
        "name_zh": "入驻分园申请",
        "name_en": "Applying for residency in a sub-venue",
        "who_may_apply_zh": "来自高校、科研院所的科研团队及初创企业，尚未入驻任何分园，且没有待审的入驻申请。",
        "who_may_apply_en": (
            "Research teams from universities and research institutes, and startups, not yet resident in any "
            "sub-venue and with no residency request waiting for a decision."
        ),
        "materials_zh": "1. 创新主体简介\n2. 入驻理由与所需空间（办公、中试场地等）\n3. 商业计划书或成果介绍（PDF或图片）",  # noqa: E501
        "materials_en": (
            "1. A profile of the team or startup\n2. Why this sub-venue, and the space it needs (office, pilot-scale "
            "space, ...)\n3. A business plan or a description of the achievement (PDF or image)"
        ),
        "steps_zh": "1. 在平台创建团队档案\n2. 在团队页面提交入驻申请\n3. 分园工作人员遴选或说明理由不予遴选\n4. 遴选后办理入驻",  # noqa: E501
        "steps_en": (
            "1. Create the team's profile on the portal\n2. Ask for residency from the team's page\n"
            "3. Staff of the sub-venue select the request, or decline it with a reason\n4. Once selected, move in"
        ),
        "time_limit_working_days": 15,
        "time_limit_zh": "分园在15个工作日内作出遴选决定。",
        "time_limit_en": "The sub-venue decides within 15 working days.",
    },
    {
        "service": "achievement-transformation",
        "sort_order": 3,
        "name_zh": "成果转化服务",
        "name_en": "Achievement transformation services",
        "who_may_apply_zh": "已入驻分园的科研团队和初创企业。",
        "who_may_apply_en": "Research teams and startups resident in a sub-venue.",
        "materials_zh": "1. 成果简介及知识产权证明\n2. 需要的服务（评估、对接、中试、孵化）说明",
        "materials_en": (
            "1. A description of the achievement and proof of its intellectual property\n"
            "2. The service needed (valuation, matchmaking, pilot scale, incubation)"
        ),
        "steps_zh": "1. 在线提交服务请求\n2. 服务专员受理并指派经办人\n3. 办理并与申请人沟通\n4. 办结后评价",
        "steps_en": (
            "1. Submit a service request online\n2. The line's staff accept it and assign a handler\n"
            "3. The handler works on it, keeping the applicant informed\n4. Rate the service once it is resolved"
        ),
        "time_limit_working_days": 10,
        "time_limit_zh": "",
        "time_limit_en": "",
    },
    {
        "service": "government-affairs",
        "sort_order": 4,
        "name_zh": "政务服务",
        "name_en": "Government affairs services",
        "who_may_apply_zh": "已入驻分园的科研团队和初创企业。",
        "who_may_apply_en": "Research teams and startups resident in a sub-venue.",
        "materials_zh": "1. 办理事项说明（工商登记、资质认定、政策申报等）\n2. 事项所需的证照材料",
        "materials_en": (
            "1. What is to be done (company registration, certifications, policy applications, ...)\n"
            "2. The licences and papers the matter needs"
        ),
        "steps_zh": "1. 在线提交服务请求\n2. 政务专员受理并指派经办人\n3. 代办或帮办\n4. 办结后评价",
        "steps_en": (
            "1. Submit a service request online\n2. Government-affairs staff accept it and assign a handler\n"
            "3. The matter is handled on the applicant's behalf or with them\n4. Rate the service once it is resolved"
        ),
        "time_limit_working_days": 5,
        "time_limit_zh": "",
        "time_limit_en": "",
    },
    {
        "service": "finance",
        "sort_order": 5,
        "name_zh": "金融服务",
        "name_en": "Finance services",
        "who_may_apply_zh": "已入驻分园的科研团队和初创企业。",
        "who_may_apply_en": "Research teams and startups resident in a sub-venue.",
        "materials_zh": "1. 融资需求说明（金额、用途、方式）\n2. 近期财务报表（初创企业）",
        "materials_en": "1. The financing needed (amount, purpose, form)\n2. Recent financial statements (startups)",
        "steps_zh": "1. 在线提交服务请求\n2. 金融专员受理并指派经办人\n3. 对接投资机构、银行或基金\n4. 办结后评价",
        "steps_en": (
            "1. Submit a service request online\n2. Finance staff accept it and assign a handler\n"
            "3. Introductions to investors, banks or funds\n4. Rate the service once it is resolved"
        ),
        "time_limit_working_days": 10,
        "time_limit_zh": "",
        "time_limit_en": "",
    },
    {
        "service": "technology",
        "sort_order": 6,
        "name_zh": "科技服务",
        "name_en": "Technology services",
        "who_may_apply_zh": "已入驻分园的科研团队和初创企业。",
        "who_may_apply_en": "Research teams and startups resident in a sub-venue.",
        "materials_zh": "1. 技术需求说明（检测、共享仪器、技术攻关等）\n2. 相关技术资料",
        "materials_en": (
            "1. The technical need (testing, shared instruments, joint research, ...)\n2. The technical papers"
        ),
        "steps_zh": "1. 在线提交服务请求\n2. 科技专员受理并指派经办人\n3. 对接平台与专家\n4. 办结后评价",
        "steps_en": (
            "1. Submit a service request online\n2. Technology staff accept it and assign a handler\n"
            "3. Introductions to platforms and experts\n4. Rate the service once it is resolved"
        ),
        "time_limit_working_days": 10,
        "time_limit_zh": "",
        "time_limit_en": "",
    },
]


def ensure_guides() -> int:
    """Create the guides that do not exist yet, linked to their service line when it exists. Returns how many."""
    from valley.models import Guide, ServiceLine

    existing = set(Guide.objects.values_list("service", flat=True))
    lines = {line.code: line for line in ServiceLine.objects.filter(code__in=[g["service"] for g in GUIDES])}
    created = [
        Guide(**values, contact_zh=CONTACT_ZH, contact_en=CONTACT_EN, service_line=lines.get(values["service"]))
        for values in GUIDES
        if values["service"] not in existing
    ]
    Guide.objects.bulk_create(created)
    return len(created)

"""The first privacy notice, made after migrate when there is none (staff write the next versions in the admin).

Its text is data, not an interface string: it is kept in both languages here and in the database."""

import datetime

TEXT_ZH = """晋创谷服务平台（山西省科学技术厅运营）处理您的个人信息，用于下列目的，每项目的的法律依据列于下表。
我们只收集完成目的所必需的信息，不向第三方出售或提供；公示期内仅公开政策规定的字段（创新主体名称、高校院所、分园、资助金额、公示截止日期）。
您可以随时在“我的数据”页面下载您的全部数据，或申请注销账户。注销申请提交后有宽限期，期间可以撤回；宽限期满后，您的姓名、电子邮箱和电话将被替换。
依照财务和审计法规，资助申请、决定、协议、拨付和报告记录以及审计日志须保存，其中的审计日志不可修改，将按原样保留。"""

TEXT_EN = """The Valley Portal (run by the Shanxi Department of Science and Technology) processes your personal data for
the purposes below; the legal basis of each is listed with it.
We collect only what a purpose needs and never sell or hand it to third parties; during a public notice only the
fields the policy names are published (team or startup, institution, sub-venue, grant, notice end date).
You may download all your data on the "My data" page at any time, or ask for your account to be deleted. After the
request there is a grace period in which you may cancel it; after it your name, e-mail address and phone are replaced.
Finance and audit law require the grant's records (applications, decisions, agreements, disbursements, reports) and
the audit log to be kept; the audit log cannot be changed and is kept as it is."""

PURPOSES = [
    (
        "账户与登录",
        "Your account and logging in",
        "电子邮箱、姓名、密码（散列）",
        "e-mail, name, password (hashed)",
        "contract",
    ),
    (
        "团队档案与资助申请",
        "Your team's profile and fund applications",
        "成员姓名、职务、电子邮箱、电话",
        "members' names, roles, e-mail, phone",
        "contract",
    ),
    (
        "资助公示",
        "Public notice of grants",
        "创新主体名称及资助金额（不含个人信息）",
        "team or startup name and grant (no personal data)",
        "public_interest",
    ),
    (
        "财务与审计记录的保存",
        "Keeping finance and audit records",
        "操作人电子邮箱、操作时间",
        "the acting person's e-mail, time of the action",
        "legal_duty",
    ),
    ("服务通知邮件", "Service mail about your applications", "电子邮箱", "e-mail", "consent"),
]

EFFECTIVE_ON = datetime.date(2023, 12, 22)

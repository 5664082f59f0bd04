"""The provisions of the city's rules the platform implements (``shared/reference/rural-exchange-rules.zh.md``:
《临湘市农村产权流转交易市场管理办法》 第九–二十五条 and 第二十七条, and the 实施方案's 交易程序, 八统一 and
三级服务体系), each with where the code keeps it.

Tests that prove a provision carry ``@pytest.mark.article("第十六条")`` (the key below); the suite checks that every
provision has at least one, and the README's 法规对照 is generated from the markers (``make articles``).  Pure data:
the public 交易规则 page lists the same provisions.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provision:
    key: str          # the marker's argument: "第十六条", "八统一" …
    source: str       # 管理办法 / 实施方案
    title: str        # what it asks, in a line
    code: tuple[str, ...]  # where the platform keeps it (paths under exchange/)


PROVISIONS: tuple[Provision, ...] = (
    Provision("第九条", "管理办法", "可交易的农村产权品种及其流转方式（四荒按取得方式；文件未列明的为中心增设）",
              ("catalog/data.py", "catalog/services.py", "listings/rules.py")),
    Provision("第十条", "管理办法", "按取得方式确定流转方式；拍卖、招投标依其法律在线下组织、结果入场记录",
              ("catalog/services.py", "listings/rules.py", "trading/services.py")),
    Provision("第十一条", "管理办法", "转让方、受让方可直接向交易中心申请",
              ("listings/services.py", "registrations/services.py")),
    Provision("第十二条", "管理办法", "转让方提交的材料，含准予产权交易的证明（集体：决议或批复；农户承包地：发包方同意转让"
              "的书面证明或向发包方备案的证明）", ("listings/rules.py", "listings/services.py")),
    Provision("第十三条", "管理办法", "意向受让方的材料与资格审查、登记（外资企业、境外投资者核验审批或备案文件）",
              ("registrations/services.py", "accounts/services.py")),
    Provision("第十四条", "管理办法", "会同交易站审查（直接申请取得交易站意见），审核通过后发布交易信息（含利用现状）",
              ("listings/workflow.py", "listings/services.py", "opendata/services.py")),
    Provision("第十五条", "管理办法", "依意向信息确定交易方式，统一组织交易",
              ("trading/services.py",)),
    Provision("第十六条", "管理办法", "组织交易完成后 5 个工作日内签订制式合同，双方签字盖章后生效",
              ("trading/services.py", "contracts/services.py")),
    Provision("第十七条", "管理办法", "合同签订后 10 天内完成资金结算",
              ("settlement/services.py",)),
    Provision("第十八条", "管理办法", "资金结算后 3 个工作日内出具鉴证书",
              ("settlement/services.py", "certificates/services.py")),
    Provision("第十九条", "管理办法", "保证金以到达指定账户为准；未成交的 5 个工作日内无息退还",
              ("payments/deposits.py", "ledger/refunds.py")),
    Provision("第二十条", "管理办法", "集体资产以评估值为依据，低于评估值须成员代表三分之二以上同意",
              ("listings/rules.py",)),
    Provision("第二十一条", "管理办法", "交易收益转入农户（挂牌申请方）账户或村（组）集体经济组织法人账户",
              ("settlement/services.py",)),
    Provision("第二十二条", "管理办法", "逾期未签约（非不可抗力）由违约方承担责任",
              ("incidents/breach.py",)),
    Provision("第二十三条", "管理办法", "中止交易的情形与重启",
              ("incidents/suspension.py", "stages.py")),
    Provision("第二十四条", "管理办法", "终结交易的情形",
              ("incidents/termination.py", "stages.py")),
    Provision("第二十五条", "管理办法", "禁止操纵、扰乱交易和有损公平交易的行为（预警；认定后取消报名资格、禁止报名）",
              ("supervision/alerts.py", "incidents/conduct.py", "registrations/services.py")),
    Provision("第二十七条", "管理办法", "交易纠纷可向交易机构申请调解（当事人在线申请，交易中心受理或不予受理）",
              ("incidents/disputes.py", "incidents/mediation_views.py")),
    Provision("交易程序", "实施方案 二(四)4", "信息收集—交易申请—材料审核—信息公告—意向受让登记—交纳保证金—组织交易—"
              "交易公示—成交签约—资金结算—出具鉴证", ("listings/workflow.py", "stages.py")),
    Provision("八统一", "管理办法 第五条", "统一监督管理、交易系统、信息发布、交易规则、交易流程、收费标准、交易鉴证、交易结算",
              ("supervision/", "opendata/", "tradingrules/", "settlement/services.py", "certificates/services.py")),
    Provision("三级服务体系", "实施方案 一、3；管理办法 第五条", "市交易中心、镇（街道）交易站、村（社区）交易点三级联动",
              ("orgs/", "access.py")),
)

BY_KEY = {p.key: p for p in PROVISIONS}

"""The standard contract texts (全国统一规范的制式合同, 第十六条): which family a category uses, the words
each family gives the parties, and the free clauses the center may edit before both parties confirm.

The fixed text of each family lives in ``templates/contracts/text_<family>.html`` (all extending
``templates/contracts/_text.html``, which follows the national model texts' structure: parties, object,
term, price and 大写, payment, deposit conversion, rights and duties, changes and termination, breach,
dispute resolution, signatures).  Free clauses are named paragraphs stored as JSON in
``Contract.clauses``; a key missing there falls back to the family's default below.
"""
from __future__ import annotations

from dataclasses import dataclass

FAMILY_BY_CATEGORY = {
    "C01": "land",        # 农户承包土地经营权
    "C02": "forest",      # 林权
    "C04": "collective",  # 农村集体资源性资产经营权
    "C05": "collective",  # 农村集体经营性资产
    "C07": "collective",  # 小型水利设施使用权
    "C06": "equipment",   # 农业生产设施设备所有权
}

FAMILIES = {
    "land": "农村土地经营权流转合同",
    "forest": "林权流转合同",
    "collective": "农村集体资产（资源）承包租赁合同",
    "equipment": "农业生产设施设备买卖（租赁）合同",
    "other": "农村产权流转交易合同",
    # procurement projects (交易品种 8 by 招标/采购/招商; the award sets the family by the project's kind)
    "procurement_works": "村级建设工程施工合同",
    "procurement_goods": "村级货物采购合同",
    "procurement_services": "村级服务采购合同",
    "investment": "村级产业项目招商合作协议",
}
PROCUREMENT_FAMILIES = frozenset({"procurement_works", "procurement_goods", "procurement_services", "investment"})

# 流转方式 → (甲方 title, 乙方 title, what the price is called)
ROLE_WORDS = {
    "出租": ("出租方", "承租方", "租金"),
    "租赁": ("出租方", "承租方", "租金"),
    "入股": ("入股方", "受让方", "入股对价"),
    "作价出资": ("出资方", "受让方", "作价金额"),
    "承包": ("发包方", "承包方", "承包费"),
    "转让": ("转让方", "受让方", "转让价款"),
    "出让": ("出让方", "受让方", "出让价款"),
    "拍卖": ("出卖人", "买受人", "价款"),
    "合作": ("合作方（转出）", "合作方（受让）", "合作对价"),
    "合资": ("合资方（转出）", "合资方（受让）", "出资对价"),
    "招标": ("招标人", "中标人", "合同价款"),
    "采购": ("采购人", "供应商", "合同价款"),
    "招商": ("招商方", "投资方", "投资（租金）金额"),
}
DEFAULT_ROLES = ("转让方", "受让方", "成交价款")


@dataclass(frozen=True)
class FreeClause:
    key: str
    title: str
    hint: str


FREE_CLAUSES = (
    FreeClause("payment", "付款方式补充约定", "分期、付款日期等；价款均通过交易中心指定账户结算"),
    FreeClause("delivery", "交付与验收", "交付时间、地点、现状和验收方式"),
    FreeClause("dispute", "争议解决方式", "第二十七条：协商、交易中心调解之外，约定仲裁机构或由人民法院管辖"),
    FreeClause("other", "双方其他约定", "不得与法律法规和本合同固定条款相抵触"),
)
FREE_KEYS = tuple(c.key for c in FREE_CLAUSES)
MAX_CLAUSE = 2000

_DISPUTE_COURT = "双方约定，协商和调解不成的，依法向标的所在地人民法院提起诉讼。"
DEFAULTS = {
    "land": {
        "payment": "乙方在本合同生效后，将全部价款（扣除已转作价款的交易保证金）一次性交入交易中心指定账户，由交易中心结算给甲方。",
        "delivery": "甲方在价款结算完成后 10 日内，按现状将流转土地交付乙方，双方现场核对地块四至并签字确认。",
        "dispute": "双方约定，协商和调解不成的，可以向临湘市农村土地承包仲裁机构申请仲裁，也可以直接向人民法院提起诉讼。",
        "other": "无。",
    },
    "forest": {
        "payment": "乙方在本合同生效后，将全部价款（扣除已转作价款的交易保证金）一次性交入交易中心指定账户，由交易中心结算给甲方。",
        "delivery": "甲方在价款结算完成后 15 日内，会同村集体经济组织将林地按现状交付乙方，双方现场核对林地四至、林木株数和蓄积并签字确认。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "collective": {
        "payment": "乙方在本合同生效后，将全部价款（扣除已转作价款的交易保证金）一次性交入交易中心指定账户，由交易中心结算至甲方的集体经济组织账户。",
        "delivery": "甲方在价款结算完成后 10 日内，将资产按现状交付乙方，双方清点资产并签署交接清单。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "equipment": {
        "payment": "乙方在本合同生效后，将全部价款（扣除已转作价款的交易保证金）一次性交入交易中心指定账户，由交易中心结算给甲方。",
        "delivery": "甲方在价款结算完成后 7 日内，在设备所在地将设备及其随附资料（合格证、说明书、购置发票复印件）交付乙方，乙方当场验收。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "procurement_works": {
        "payment": "合同价款由甲方按工程进度直接支付给乙方，不经交易中心结算：工程完工验收合格后付至合同价款的 80%，"
                   "审计结算后付至 97%，余款 3% 作为质量保证金，缺陷责任期（1 年）满后无息付清。",
        "delivery": "乙方在本合同生效后 7 日内进场施工，工期 60 日历天；工程完工后由甲方组织村民代表、乡镇（街道）相关人员验收。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "procurement_goods": {
        "payment": "合同价款由甲方在货物验收合格后 15 日内直接支付给乙方，不经交易中心结算。",
        "delivery": "乙方在本合同生效后 15 日内将货物送至甲方指定地点并负责安装调试，甲方当场验收；质保期 1 年。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "procurement_services": {
        "payment": "合同价款由甲方按服务期分期直接支付给乙方，不经交易中心结算：每季度末经甲方考核合格后支付当季费用。",
        "delivery": "服务期自本合同生效之日起 1 年；乙方按采购公告和投标文件承诺的内容和标准提供服务，甲方每季度考核一次。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "investment": {
        "payment": "乙方按投标文件承诺的金额和进度投资，租金（收益）按年于每年 1 月 31 日前直接支付给甲方的集体经济组织账户，"
                   "不经交易中心结算。",
        "delivery": "甲方在本合同生效后 15 日内将项目用地（设施）按现状交付乙方，双方签署交接清单。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
    "other": {
        "payment": "乙方在本合同生效后，将全部价款（扣除已转作价款的交易保证金）一次性交入交易中心指定账户，由交易中心结算给甲方。",
        "delivery": "甲方在价款结算完成后 10 日内，将交易标的按现状交付乙方，双方签署交接确认书。",
        "dispute": _DISPUTE_COURT,
        "other": "无。",
    },
}


def family_for(category_code: str | None) -> str:
    return FAMILY_BY_CATEGORY.get(category_code or "", "other")


def roles_for(method_name: str | None) -> tuple[str, str, str]:
    return ROLE_WORDS.get(method_name or "", DEFAULT_ROLES)

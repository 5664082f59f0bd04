"""The seeded catalogue: the 11 交易品种 and their 流转方式 as the city's rules list them.

Used by the data migration that creates them and by tests; afterwards the admin edits the data.
"""
CATEGORIES = [
    # code, name, methods, collective, announce_days, restricts_buyers, farmland
    ("C01", "农户承包土地经营权", ["出租", "入股"], False, 5, False, True),
    ("C02", "林权", ["出租", "转让", "入股", "作价出资", "合作"], False, 5, False, False),
    ("C03", "“四荒”使用权", ["转让", "出租", "入股", "抵押"], False, 5, False, True),
    ("C04", "农村集体资源性资产经营权", ["出租", "转让", "入股", "作价出资", "合作"], True, 10, False, True),
    ("C05", "农村集体经营性资产", ["承包", "租赁", "出让", "入股", "合资", "合作"], True, 10, False, False),
    ("C06", "农业生产设施设备所有权", ["转让", "租赁", "拍卖"], False, 5, False, False),
    ("C07", "小型水利设施使用权", ["承包", "租赁", "转让", "抵押", "合作"], False, 5, False, False),
    ("C08", "农村建设项目招标、货物和服务采购、产业项目招商和转让", ["招标", "采购", "招商", "转让"], True, 10, False,
     False),
    ("C09", "农村闲置宅基地使用权和住宅", ["转让", "出租", "合作建房"], False, 5, True, False),
    ("C10", "国有农牧渔场、农业产业化企业等涉农产权", ["转让", "出租", "入股", "合作"], False, 5, False, False),
    ("C11", "其他涉农产权", ["转让", "出租", "合作", "不良资产处置"], False, 5, False, False),
]

# The 流转方式 the city's text itself names for each category (实施方案 二(三) 1–11, which 管理办法 第九条 lists by name;
# DESIGN §3.1).  A method of the catalogue not named here is the center's own addition (中心增设, "各交易品种交易方式
# 细则由临湘市农村产权交易中心制定", 实施方案 二(四)2): the admin's catalogue page shows it as such.  C10 has no method in
# the text: all of its methods are the center's.
STATUTORY_METHODS = {
    "C01": ("出租", "入股"),
    "C02": ("出租", "转让", "入股", "作价出资", "合作"),
    "C03": ("转让", "出租", "入股", "抵押"),
    "C04": ("出租", "转让", "入股", "作价出资", "合作"),
    "C05": ("承包", "租赁", "出让", "入股", "合资", "合作"),
    "C06": ("转让", "租赁", "拍卖"),
    "C07": ("承包", "租赁", "转让", "抵押", "合作"),
    "C08": ("招标", "采购", "招商", "转让"),
    "C09": ("转让", "出租", "合作建房"),
    "C10": (),
    "C11": ("转让", "出租", "合作", "不良资产处置"),
}
STATUTORY_SOURCE = "《实施方案》二（三）、《管理办法》第九条"

# How a right was obtained decides how it may be transferred (第九条 3、第十条): "四荒" 使用权 obtained by 家庭承包 follows
# the rules of 农户承包土地经营权 (C01: 出租、入股); obtained by 招标、拍卖、公开协商等 other ways, its own methods
# (转让、出租、入股、抵押).  Category code → the category whose rules its household-contracted rights follow.
ACQUISITIONS = {"household_contract": "家庭承包方式取得", "open_contract": "招标、拍卖、公开协商等方式取得"}
ACQUISITION_RULES = {"C03": "C01"}

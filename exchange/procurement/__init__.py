"""Collective procurement and tendering (交易品种 8, 招标/采购/招商; DESIGN §3.12): the collective buys.

Built so far (issue 18, first part — plain functions, not yet wired to projects, pages or the database):

* :mod:`~exchange.procurement.vault`, the sealed-bid vault: bids encrypted so that nobody, a database reader or the
  center's staff, can read one before the 开标 time, each supplier holding a salted SHA-256 receipt of its bid;
* :mod:`~exchange.procurement.evaluation`, 评标 arithmetic: 最低价法 and 综合评分法 in both price directions (招商:
  higher is better), the limit, the price formula, the panel's average (extreme totals left out as a setting),
  tie-breaking, the three 中标候选人;
* :mod:`~exchange.procurement.rules`, a project's terms: the national thresholds of compulsory tendering (refused
  with the reason), the 最高限价 within the budget, the bond at most 2 % of the limit;
* :mod:`~exchange.procurement.panel`, the panel's draw from the 专家库 by specialty with conflicts excluded,
  repeatable from its recorded seed.

And the 专家库 itself (models, pages under /admin/experts, ``/api/v1/experts`` to read):
:mod:`~exchange.procurement.experts` keeps the experts, their specialties and their ties to villages and parties, and
gives the draw its plain values (:func:`~exchange.procurement.experts.pool`).  Not yet: the projects, and the storage
of a draw.
"""

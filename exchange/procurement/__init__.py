"""Collective procurement and tendering (交易品种 8, 招标/采购/招商; DESIGN §3.12): the collective buys.

Built so far (issue 18, first part): :mod:`exchange.procurement.vault`, the sealed-bid vault — bids encrypted so that
nobody, a database reader or the center's staff, can read one before the 开标 time, each supplier holding a SHA-256
receipt of its bid that it checks against the opened bid.
"""

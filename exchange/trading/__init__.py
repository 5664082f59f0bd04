"""组织交易 (第十五条, 第十条): from the end of the announcement to a concluded deal and its 交易公示."""

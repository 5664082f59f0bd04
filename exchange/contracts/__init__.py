"""成交签约 (第十六条): the standard contract of the category, confirmed by both parties, scanned and checked."""

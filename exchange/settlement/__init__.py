"""交易资金结算 (第十七条, 第二十一条): the balance of the price, fees from one fee table, payouts."""

"""Open data and sharing (gov-data-rules 第十一、十七、二十五、二十六条): masked public data, a changes feed, tokens."""

"""档案管理: a listing's whole file as one ZIP (an observer: it reads the rows of every stage, DESIGN §4.1)."""

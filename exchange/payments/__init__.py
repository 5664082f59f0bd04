"""How deposits reach the 指定账户: online payments through a provider (a built-in sandbox provider plays
the bank), bank receipts confirmed by finance, and imported bank statements matched to 缴款码."""

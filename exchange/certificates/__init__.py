"""出具交易鉴证 (第十八条): the numbered, signed, verifiable 鉴证书, and the archive of a listing."""

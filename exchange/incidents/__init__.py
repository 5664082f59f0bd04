"""Incidents in the course of a listing (第二十二–二十七条): 中止 and 重启 (``suspension``), 终结 (``termination``),
违约 (``breach``: the party in default, forfeiture or return, the runner-up, relisting; ``force_majeure``), 禁止行为认定 (``conduct``, 第二十五条: voiding a
registration, a ban from registering) and 纠纷 (``disputes``, applied for by a party online or registered by
staff).  Named so as not to shadow Python's exceptions or anyone's ``defaults``."""

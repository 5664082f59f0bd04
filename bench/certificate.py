"""鉴证书 PDF rendering (target p50 ≤ 0.5 s on a 2-core machine; DESIGN §4.8, §5).

Builds a fresh SQLite database with the demo data, one concluded deal with an effective contract and a
settled settlement, and a throwaway signing key; then renders the certificate of that deal N times the
way :func:`exchange.certificates.services.issue` does (facts from the database, template, QR code,
WeasyPrint with AR PL UMing, pyHanko signature) and, interleaved, WeasyPrint alone on the same HTML with
no application code around it.  The last line printed is one JSON object: p50/p95 seconds of both and
their ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import timedelta
from decimal import Decimal


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return 0.0
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def build_deal(app):
    """The demo data plus one deal ready for its certificate (rows written directly: only rendering is timed)."""
    from sqlalchemy import select

    from exchange import clock
    from exchange.accounts.models import User
    from exchange.audit.services import acting_as
    from exchange.contracts.models import Contract
    from exchange.demo import seed
    from exchange.extensions import db
    from exchange.listings.models import Listing
    from exchange.registrations.models import Registration
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal

    with acting_as("bench"):
        seed()
    db.session.commit()
    listing = db.session.scalars(select(Listing).where(Listing.project_no.is_not(None)).order_by(Listing.id)).first()
    buyer = db.session.scalar(select(User).where(User.username == "buyer_person"))
    now = clock.now()
    reg = Registration(listing_id=listing.id, buyer_id=buyer.id, state="paid", bidder_no="B7K2Q9",
                       deposit_amount=Decimal("16000.00"), paid_at=now)
    db.session.add(reg)
    db.session.flush()
    price = Decimal("186400.00")
    deal = Deal(deal_no="CJ-2026-000001", listing_id=listing.id, registration_id=reg.id, buyer_id=buyer.id,
                method="online_bidding", price=price, concluded_at=now - timedelta(days=20),
                publicity_end_at=now - timedelta(days=15), state="confirmed")
    db.session.add(deal)
    db.session.flush()
    db.session.add(Contract(deal_id=deal.id, listing_id=listing.id, template="land", contract_no="临农交合〔2026〕第000001号",
                            state="checked", due_at=now - timedelta(days=8), signed_on=clock.today_local(),
                            effective_at=now - timedelta(days=8)))
    db.session.add(Settlement(deal_id=deal.id, listing_id=listing.id, state="settled", price=price,
                              deposit_converted=Decimal("16000.00"), balance_due=price - Decimal("16000.00"),
                              buyer_fee=Decimal("1864.00"), seller_fee=Decimal("0.00"), payment_ref="JSBENCH0001",
                              due_at=now, certificate_due_at=now + timedelta(days=3), paid_at=now, settled_at=now))
    db.session.commit()
    return deal.id


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench certificate")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bench-certificate-")
    os.environ.setdefault("EXCHANGE_INSTANCE_DIR", tmp)
    import config
    from exchange import create_app

    class Cfg(config.Config):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        TESTING = True
        UPLOAD_ROOT = os.path.join(tmp, "uploads")
        CERT_KEY_PATH = os.path.join(tmp, "key.pem")
        CERT_PATH = os.path.join(tmp, "cert.pem")

    app = create_app(Cfg)
    from flask_migrate import upgrade
    from weasyprint import CSS, HTML

    from exchange import clock
    from exchange.certificates import services as csvc
    from exchange.certificates import signing
    from exchange.extensions import db
    from exchange.pdf import FONT_CSS
    from exchange.trading.models import Deal

    signing.generate_key(Cfg.CERT_KEY_PATH, Cfg.CERT_PATH)
    with app.app_context():
        upgrade()
        deal_id = build_deal(app)
        cert_no = "临农交鉴〔2026〕第000123号"
        issued = clock.now()
        html = csvc.render_html(db.session.get(Deal, deal_id), cert_no, issued)
        db.session.remove()

        def full() -> bytes:
            # what issue() does for the document: read the facts, render, QR, PDF, sign
            deal = db.session.get(Deal, deal_id)
            pdf = csvc.render_signed(deal, cert_no, issued)
            db.session.remove()
            return pdf

        def bare() -> bytes:
            return HTML(string=html).write_pdf(stylesheets=[CSS(string=FONT_CSS)])

        for _ in range(args.warmup):
            full()
            bare()
        app_times, bare_times = [], []
        size = 0
        for _ in range(args.runs):
            t = time.perf_counter()
            pdf = full()
            app_times.append(time.perf_counter() - t)
            size = len(pdf)
            t = time.perf_counter()
            bare()
            bare_times.append(time.perf_counter() - t)
        assert signing.verify(pdf).ok

    p50, p95 = pct(app_times, 50), pct(app_times, 95)
    b50, b95 = pct(bare_times, 50), pct(bare_times, 95)
    print(f"certificate (facts + template + QR + WeasyPrint/AR PL UMing + PAdES signature): "
          f"p50 {p50:.3f} s  p95 {p95:.3f} s  mean {statistics.mean(app_times):.3f} s  ({size} bytes)")
    print(f"bare WeasyPrint on the same HTML:                                              "
          f"p50 {b50:.3f} s  p95 {b95:.3f} s")
    print(f"target p50 ≤ 0.5 s: {'met' if p50 <= 0.5 else 'NOT met'} on {os.cpu_count()} CPU(s)")
    print(json.dumps({"bench": "certificate", "runs": args.runs, "p50_s": round(p50, 4), "p95_s": round(p95, 4),
                      "bare_weasyprint_p50_s": round(b50, 4), "bare_weasyprint_p95_s": round(b95, 4),
                      "ratio_p50": round(p50 / b50, 3) if b50 else None,
                      "ratio_p95": round(p95 / b95, 3) if b95 else None,
                      "target_p50_s": 0.5, "target_met": p50 <= 0.5, "pdf_bytes": size,
                      "font": "AR PL UMing", "cpus": os.cpu_count()}, ensure_ascii=False))

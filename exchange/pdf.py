"""PDF rendering with WeasyPrint and a Song-style CJK font (AR PL UMing, Debian's fonts-arphic-uming).

DESIGN §4.8: UMing keeps a one-page document near half a second on these machines; Noto CJK takes
several seconds because subsetting its huge CFF font dominates.  Templates use the ``cjk`` family.
"""
from __future__ import annotations

from flask import render_template

FONT_CSS = """
@page { size: A4; margin: 22mm 20mm 20mm 20mm; }
html { font-family: "AR PL UMing CN", "AR PL UMing TW", "AR PL UMing", serif; font-size: 11pt; line-height: 1.6; }
"""


def render_pdf(template: str, **context) -> bytes:
    from weasyprint import CSS, HTML
    html = render_template(template, **context)
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=FONT_CSS)])

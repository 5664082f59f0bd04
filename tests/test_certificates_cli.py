"""`flask certificates init-key` and the certificate benchmark's output."""
import json
import os
import subprocess
import sys
from pathlib import Path

from exchange.certificates import signing


def test_init_key_makes_a_key_that_signs_and_refuses_to_overwrite(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CERT_KEY_PATH", str(tmp_path / "k.pem"))
    monkeypatch.setitem(app.config, "CERT_PATH", str(tmp_path / "c.pem"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "init-key", "--name", "临湘市农村产权交易中心"])
    assert result.exit_code == 0, result.output
    assert "已生成签章密钥" in result.output
    assert oct((tmp_path / "k.pem").stat().st_mode & 0o777) == "0o600"
    again = runner.invoke(args=["certificates", "init-key"])
    assert again.exit_code != 0 and "已存在" in again.output
    with app.app_context():
        from weasyprint import HTML
        pdf = HTML(string="<p>鉴证</p>").write_pdf()
        signed = signing.sign(pdf)
        assert signing.verify(signed).ok
        assert not signing.verify(pdf).ok
    forced = runner.invoke(args=["certificates", "init-key", "--force"])
    assert forced.exit_code == 0
    with app.app_context():  # a new key: the old signature is no longer the center's
        assert not signing.verify(signed).ok


def test_bench_prints_one_json_line_last():
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("EXCHANGE_INSTANCE_DIR", "TEST_DATABASE_URL")}
    out = subprocess.run([sys.executable, "-m", "bench", "certificate", "--runs", "2", "--warmup", "0"], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bench"] == "certificate" and result["runs"] == 2
    assert result["p50_s"] > 0 and result["bare_weasyprint_p50_s"] > 0 and result["ratio_p50"] > 0

"""演练模式: a training deployment runs the clock accelerated and shows a banner on every page."""
import time

from exchange import clock


def test_training_deployment_banner_and_fast_clock(app, database_url, tmp_path):
    base_app = app  # the session app: its fixture has migrated the database
    import config
    from exchange import create_app

    class Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        TRAINING_MODE = True
        TRAINING_SPEED = 3600
        INSTANCE_DIR = str(tmp_path)

    try:
        training = create_app(Cfg)
        client = training.test_client()
        for url in ["/", "/login", "/projects/"]:
            body = client.get(url).get_data(as_text=True)
            assert "演练模式" in body and "时间加速运行" in body, url
        assert client.get("/api/v1/system/time").get_json()["training_mode"] is True
        t0 = clock.now()
        time.sleep(0.05)
        assert (clock.now() - t0).total_seconds() >= 0.05 * 3600 * 0.9  # ≈ 3 simulated minutes
        assert (tmp_path / "training_clock.json").exists()
    finally:
        clock.reset()
        from exchange.extensions import db
        with training.app_context():
            db.engine.dispose()
        assert base_app is not training


def test_normal_deployment_has_no_banner(client):
    assert "演练模式" not in client.get("/").get_data(as_text=True)

"""`simulate` checks every sweeper pass: an item the sweeper could not handle (it only logs it and retries next
pass) stops the simulation with a SimulationError naming the stage, the handler, the items and the cause."""
import pytest

from exchange.deadlines import sweeper
from exchange.deadlines.handlers import ItemHandler
from exchange.training.simulate import SimulationError, run


def _run(app, url, tmp_path):
    lines: list[str] = []
    with app.app_context():  # as `flask simulate` runs, inheriting the test app's settings
        with pytest.raises(SimulationError) as exc:
            run(url, tmp_path / "work", echo=lines.append, inherit=dict(app.config))
    return exc.value, lines


def test_a_failing_item_stops_the_simulation_at_its_stage(app, fresh_url, tmp_path, monkeypatch):
    real = sweeper.HANDLERS["trading.end_publicity"]

    def broken(deal_id, now):
        raise RuntimeError("模拟的故障：签约通知发送失败")

    monkeypatch.setitem(sweeper.HANDLERS, "trading.end_publicity", ItemHandler(real.due, broken, real.label))
    err, lines = _run(app, fresh_url, tmp_path)
    assert err.stage == "交易公示期满（到期处理）", err
    assert "交易公示期满，转入签约（trading.end_publicity）失败 1 项，编号 " in err.message
    assert "模拟的故障：签约通知发送失败" in err.message and "RuntimeError" in err.message
    assert str(err).startswith("演练在“交易公示期满（到期处理）”阶段失败")
    assert any("竞得" in line or "成交" in line for line in lines)  # it got that far, and no further
    assert not any("交易公示期满无异议" in line for line in lines)


def test_a_handler_that_cannot_even_look_is_reported(app, fresh_url, tmp_path, monkeypatch):
    """A failure the simulation would not otherwise notice: the first pass (the announcement's end) goes on
    with the other handlers and the listing still moves to trading."""
    def blind(now):
        raise LookupError("到期表不可读")

    monkeypatch.setitem(sweeper.HANDLERS, "test.blind", ItemHandler(blind, lambda i, now: True, "测试用处理"))
    err, lines = _run(app, fresh_url, tmp_path)
    assert err.stage == "公告期满（到期处理）"
    assert "测试用处理（test.blind）失败 1 项，查找到期事项时出错" in err.message
    assert "LookupError: 到期表不可读" in err.message
    assert not any("进入组织交易" in line for line in lines)

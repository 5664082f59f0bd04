"""Server time and platform facts (the bidding room and clients sync their clocks with it)."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from exchange import clock
from exchange.api.common import make_blueprint, public

blp = make_blueprint("api_system", "/system", "平台时间与状态")


class TimeSchema(Schema):
    now = fields.DateTime(required=True, metadata={"description": "服务器当前时间（UTC）"})
    beijing = fields.String(required=True, metadata={"description": "北京时间，YYYY-MM-DD HH:MM:SS"})
    training_mode = fields.Boolean(required=True, metadata={"description": "是否为演练模式（时间加速运行）"})
    speed = fields.Float(required=True, metadata={"description": "模拟时间相对真实时间的倍速"})


@blp.route("/time")
@public
@blp.response(200, TimeSchema)
def server_time():
    """服务器时间

    所有期限以服务器时间为准；客户端倒计时以此校准。
    """
    now = clock.now()
    return {"now": now, "beijing": clock.to_local(now).strftime("%Y-%m-%d %H:%M:%S"),
            "training_mode": bool(current_app.config.get("TRAINING_MODE")), "speed": clock.speed()}

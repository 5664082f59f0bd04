"""Sign-in, sign-out, public registration and password change pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from exchange import clock
from exchange.accounts import services as acc
from exchange.accounts import throttle
from exchange.accounts.forms import ChangePasswordForm, LoginForm, RegisterForm
from exchange.extensions import db
from exchange.pages import apply_service_error, run_action, safe_next

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.work"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = acc.authenticate(form.username.data, form.password.data, ip=request.remote_addr)
        except acc.LoginError as exc:
            db.session.commit()  # failed attempts and locks are kept
            form.form_errors.append(exc.message)
            return render_template("accounts/login.html", form=form), 200
        target = safe_next()
        session.clear()  # no session fixation
        login_user(user)
        throttle.remember_device(user)
        session["last_seen"] = clock.now().isoformat()
        db.session.commit()
        if user.must_change_password:
            flash("为保障账号安全，请先修改初始密码。", "warning")
            return redirect(url_for("accounts.change_password"))
        flash(f"欢迎，{user.display_name}。", "success")
        return redirect(target)
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        acc.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("web.home"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        flash("您已登录。如需注册新的主体，请先退出当前账号。", "info")
        return redirect(url_for("web.work"))
    form = RegisterForm()

    def page(status: int = 200):
        return render_template("accounts/register.html", form=form), status

    def refused(exc):
        apply_service_error(form, exc)
        return page(400)

    def signed_in(user) -> str:  # the new account's session starts once it is stored (before the message is kept)
        session.clear()
        login_user(user)
        session["last_seen"] = clock.now().isoformat()
        return "注册成功，欢迎使用临湘市农村产权流转交易平台。"

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    reg = acc.SignUp(
        username=form.username.data, password=form.password.data, kind=form.kind.data,
        name=form.name.data, mobile=form.mobile.data, contact_name=form.contact_name.data,
        id_number=form.id_number.data, uscc=form.uscc.data, org_type=form.org_type.data,
        legal_rep=form.legal_rep.data, address=form.address.data, foreign_kind=form.foreign_kind.data)
    return run_action(lambda: acc.register_public(reg), refused=refused, done=signed_in,
                      back=url_for("web.work"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()

    def page():
        return render_template("accounts/password.html", form=form)

    def refused(exc):
        apply_service_error(form, exc)
        return page()

    def changed(_) -> str:
        login_user(current_user._get_current_object())  # this session continues; others end
        session["last_seen"] = clock.now().isoformat()
        return "密码已修改。"

    if not form.validate_on_submit():
        return page()
    return run_action(lambda: acc.change_password(current_user, form.old_password.data, form.new_password.data),
                      refused=refused, done=changed, back=url_for("web.work"))

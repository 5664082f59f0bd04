/* 竞价室: polls the room's state from the server every second (any worker process can answer: the state
 * is in the database), keeps the countdown on the server's clock, shows the amount in 大写, asks for
 * confirmation and bids through the API with an idempotency key (a retried request is accepted once).
 * Reading the state never changes it: when the countdown has run out and no result is there yet, the room asks
 * the server to conclude the session (POST …/close, idempotent; the sweeper would do it within a minute). */
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) { return; }
  var stateUrl = root.getAttribute("data-state-url");
  var bidUrl = root.getAttribute("data-bid-url");
  var closeUrl = root.getAttribute("data-close-url");
  var closing = false;
  var outcome = "";
  var form = root.querySelector("[data-bid-form]");
  var deadline = null;          // performance.now() at which the countdown reaches zero
  var phase = null;
  var frozenMs = 0;
  var lastNextMin = null;
  var pending = null;           // {amount, key} of a bid being confirmed or sent

  function field(name) { return root.querySelector('[data-field="' + name + '"]'); }
  function setText(name, text) { var el = field(name); if (el) { el.textContent = text; } }

  var DIGITS = "零壹贰叁肆伍陆柒捌玖";
  var UNITS = ["", "拾", "佰", "仟"];
  var SECTIONS = ["", "万", "亿", "万亿"];
  function sectionUpper(n) {
    var out = "", zero = false;
    for (var i = 3; i >= 0; i--) {
      var d = Math.floor(n / Math.pow(10, i)) % 10;
      if (d === 0) { zero = out !== ""; continue; }
      if (zero) { out += "零"; zero = false; }
      out += DIGITS[d] + UNITS[i];
    }
    return out;
  }
  function upper(text) {
    if (!/^\d{1,13}(\.\d{1,2})?$/.test(text)) { return ""; }
    var parts = text.split(".");
    var yuan = parseInt(parts[0], 10);
    var cents = (parts[1] || "").concat("00").slice(0, 2);
    var jiao = parseInt(cents[0], 10), fen = parseInt(cents[1], 10);
    var out = "", i = 0, needZero = false;
    if (yuan === 0) { out = ""; }
    while (yuan > 0) {
      var sec = yuan % 10000;
      if (sec) {
        var s = sectionUpper(sec) + SECTIONS[i];
        if (needZero) { s += "零"; }
        out = s + out;
        needZero = sec < 1000;
      } else if (out) {
        needZero = true;
      }
      yuan = Math.floor(yuan / 10000);
      i++;
    }
    out = out.replace(/零+/g, "零").replace(/零$/, "");
    if (!out && !jiao && !fen) { return "零元整"; }
    if (out) { out += "元"; }
    if (!jiao && !fen) { return out + "整"; }
    if (jiao) { out += DIGITS[jiao] + "角"; } else if (out) { out += "零"; }
    if (fen) { out += DIGITS[fen] + "分"; }
    return out;
  }

  function fmtCountdown(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var mm = (h ? h + ":" + (m < 10 ? "0" : "") : "") + m;
    return mm + ":" + (sec < 10 ? "0" : "") + sec;
  }

  function tick() {
    var el = field("countdown");
    if (!el || deadline === null) { return; }
    if (phase === "suspended") { el.textContent = fmtCountdown(frozenMs) + "（已暂停）"; return; }
    el.textContent = phase === "ended" ? "0:00" : fmtCountdown(deadline - performance.now());
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function render(st) {
    phase = st.phase;
    outcome = st.outcome || "";
    deadline = performance.now() + st.seconds_left * 1000;
    frozenMs = st.seconds_left * 1000;
    setText("phase_label", st.phase_label);
    if (st.current_price_text !== undefined) {
      setText("current_price_text", st.current_price_text || "尚无报价");
      setText("current_price_upper", st.current_price_upper || "");
      setText("leader_bidder_no", st.leader_bidder_no || "—");
    }
    if (st.offers !== null && st.offers !== undefined) { setText("offers", st.offers); }
    var links = field("deal_links");
    if (links && st.deal_no) {
      links.querySelector('[data-link="deal"]').href = "/deals/" + encodeURIComponent(st.deal_no);
      links.querySelector('[data-link="record"]').href = "/deals/" + encodeURIComponent(st.deal_no) + "/bidding-record.pdf";
      links.hidden = false;
    }
    var outcome = field("outcome");
    if (outcome) { outcome.textContent = st.outcome || ""; outcome.hidden = !st.outcome; }
    var tbody = field("history");
    if (tbody) {
      tbody.innerHTML = st.history.map(function (b) {
        return "<tr><td data-label=\"序号\">" + b.seq + "</td><td data-label=\"竞买号\" class=\"mono\">" +
          escapeHtml(b.bidder_no) + (b.name ? "（" + escapeHtml(b.name) + "）" : "") + (b.priority_match ? " 优先权" : "") +
          "</td><td data-label=\"报价\" class=\"num\">" + escapeHtml(b.amount_text) + "</td><td data-label=\"时间\">" +
          escapeHtml(b.time) + "</td></tr>";
      }).join("");
    }
    if (st.me) {
      var outbid = !st.me.leading && st.method === "online_bidding" &&
        st.history.some(function (b) { return b.bidder_no === st.me.bidder_no; });
      var status = st.me.leading ? "您当前领先。" : (st.me.my_offer ? "您已提交报价 " + st.me.my_offer + " 元。" :
        (outbid ? "您的报价已被超过。" : ""));
      if (st.me.priority_right) { status += "您享有优先权：可按当前最高价报价并领先（同等条件优先）。"; }
      setText("my_status", status);
      var input = form && form.querySelector("[data-next-min]");
      if (input && st.me.next_min && (input.value === "" || input.value === lastNextMin) && !pending) {
        input.value = st.me.next_min;
        showUpper();
      }
      lastNextMin = st.me.next_min;
    }
    if (form) { form.hidden = st.phase === "ended" || st.phase === "cancelled" || st.phase === "suspended"; }
    tick();
  }

  function conclude() {
    closing = true;
    return fetch(closeUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Accept": "application/json", "X-CSRFToken": root.getAttribute("data-csrf") || "" }
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) { if (st) { render(st); } })
      .catch(function () { /* the sweeper concludes it anyway */ });
  }

  function poll() {
    fetch(stateUrl, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) { if (st) { render(st); } })
      .catch(function () { /* the next poll retries */ })
      .then(function () {
        if (phase === "ended" && !outcome && closeUrl && !closing) { return conclude(); }
      })
      .then(function () {
        if (phase !== "ended") { setTimeout(poll, 1000); }
        else if (!outcome) { setTimeout(poll, 3000); }  // ended, its result not written yet: look again
      });
  }

  function newKey() {
    if (window.crypto && window.crypto.getRandomValues) {
      var a = new Uint8Array(16); window.crypto.getRandomValues(a);
      return Array.prototype.map.call(a, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join("");
    }
    return String(Date.now()) + String(Math.random()).slice(2);
  }

  function showUpper() {
    var input = form.querySelector("[data-next-min]");
    var text = input.value.replace(/[,，\s]/g, "");
    setText("amount_upper", text ? (upper(text) || "金额格式不正确") : "");
  }

  function send(attempt) {
    var token = form.querySelector('input[name="csrf_token"]').value;
    fetch(bidUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ amount: pending.amount, key: pending.key })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok) {
        setText("bid_message", "报价 " + res.body.amount + " 元已被接受（第 " + res.body.seq + " 次报价）。");
        pending = null;
        form.querySelector('input[name="key"]').value = newKey();
        render(res.body.state);
      } else {
        setText("bid_message", res.body.message || "报价未被接受。");
        pending = null;
      }
    }).catch(function () {
      if (attempt < 2) { setTimeout(function () { send(attempt + 1); }, 500); return; }  // same key: accepted once
      setText("bid_message", "网络异常，请稍后查看报价记录确认是否成功。");
      pending = null;
    });
  }

  if (form) {
    var input = form.querySelector("[data-next-min]");
    var confirmBox = form.querySelector("[data-bid-confirm]");
    var actions = form.querySelector("[data-bid-actions]");
    input.addEventListener("input", showUpper);
    showUpper();
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var amount = input.value.replace(/[,，\s]/g, "");
      if (!upper(amount)) { setText("bid_message", "请填写正确的金额（最多两位小数）。"); return; }
      pending = { amount: amount, key: form.querySelector('input[name="key"]').value };
      setText("confirm_amount", amount);
      setText("confirm_upper", upper(amount));
      confirmBox.hidden = false; actions.hidden = true;
    });
    form.querySelector("[data-bid-ok]").addEventListener("click", function () {
      confirmBox.hidden = true; actions.hidden = false;
      setText("bid_message", "正在提交…");
      send(0);
    });
    form.querySelector("[data-bid-cancel]").addEventListener("click", function () {
      confirmBox.hidden = true; actions.hidden = false; pending = null;
    });
  }
  setInterval(tick, 250);
  poll();
}());

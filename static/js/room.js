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
  var leading = false;          // this bidder holds the highest price (报价 is off until outbid)
  var offline = false;          // the last poll got no answer: the countdown is stopped until one comes
  var lastSeq = null;           // the server's count of accepted bids at the last state
  var messageSeq = null;        // lastSeq when bid_message was written (cleared once the price moves on)

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

  function fmtCountdown(ms) {  // as the server writes it (exchange/trading/room.py countdown_text)
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var text = (h || d ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
    return d ? d + " 天 " + text : text;
  }

  function remainingMs() { return deadline === null ? 0 : Math.max(0, deadline - performance.now()); }

  function tick() {
    var el = field("countdown");
    if (!el || deadline === null) { return; }
    var paused = phase === "suspended" || offline;
    setText("countdown_note", paused ? "已暂停" : "");
    if (paused) { el.textContent = fmtCountdown(frozenMs); return; }
    el.textContent = phase === "ended" ? "0:00" : fmtCountdown(remainingMs());
  }

  // A dropped connection: say so, and stop the local countdown (it would run on a stale price) until the server
  // answers again; no bid can be sent meanwhile.
  function setOffline(on) {
    if (on === offline) { return; }
    if (on) { frozenMs = remainingMs(); }
    offline = on;
    var banner = field("offline");
    if (banner) { banner.hidden = !on; }
    root.classList.toggle("is-offline", on);
    updateButtons();
    tick();
  }

  // 报价 can be pressed when the server can be reached and the bidder is not already the highest (who would only
  // be told "您当前已是最高报价人")
  function updateButtons() {
    if (!form) { return; }
    var button = form.querySelector("[data-bid-actions] button");
    if (button) { button.disabled = offline || leading; }
    var ok = form.querySelector("[data-bid-ok]");
    if (ok) { ok.disabled = offline; }
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function amountOf(text) { var n = parseFloat(String(text || "").replace(/[,，\s]/g, "")); return isNaN(n) ? null : n; }

  function setMessage(text) { setText("bid_message", text); messageSeq = lastSeq; }

  function render(st) {
    var seqChanged = lastSeq !== null && st.seq !== lastSeq;
    lastSeq = st.seq;
    phase = st.phase;
    outcome = st.outcome || "";
    var seconds = st.countdown_seconds !== undefined ? st.countdown_seconds : st.seconds_left;
    deadline = performance.now() + seconds * 1000;
    frozenMs = seconds * 1000;
    setText("phase_label", st.phase_label);
    if (st.countdown_label) { setText("countdown_label", st.countdown_label); }
    var starts = field("starts_line");
    if (starts) { starts.hidden = st.phase !== "waiting"; }
    if (st.starts_at_text) { setText("starts_at_text", st.starts_at_text); }
    if (st.current_price_text !== undefined) {
      setText("current_price_text", st.current_price_text || "尚无报价");
      setText("current_price_upper", st.current_price_upper || "");
      setText("leader_bidder_no", st.leader_bidder_no || "—");
      if (st.price_label) { setText("price_label", st.price_label); }
      if (st.leader_label) { setText("leader_label", st.leader_label); }
    }
    if (st.offers !== null && st.offers !== undefined) { setText("offers", st.offers); }
    var links = field("deal_links");
    if (links && st.deal_no) {
      links.querySelector('[data-link="deal"]').href = "/deals/" + encodeURIComponent(st.deal_no);
      links.querySelector('[data-link="record"]').href = "/deals/" + encodeURIComponent(st.deal_no) + "/bidding-record.pdf";
      links.hidden = false;
    }
    var outcomeBox = field("outcome");
    if (outcomeBox) { outcomeBox.textContent = st.outcome || ""; outcomeBox.hidden = !st.outcome; }
    var tbody = field("history");
    if (tbody) {
      tbody.innerHTML = st.history.map(function (b) {
        return "<tr><td data-label=\"序号\">" + b.seq + "</td><td data-label=\"竞买号\"><span class=\"mono\">" +
          escapeHtml(b.bidder_no) + "</span>" + (b.name ? "（" + escapeHtml(b.name) + "）" : "") + (b.priority_match ? " 优先权" : "") +
          "</td><td data-label=\"报价\" class=\"num\">" + escapeHtml(b.amount_text) + "</td><td data-label=\"时间\">" +
          escapeHtml(b.time) + "</td></tr>";
      }).join("") || "<tr><td colspan=\"4\">尚无报价</td></tr>";
    }
    if (st.me) {
      var status = field("my_status");
      if (status && st.me.status) {
        status.textContent = st.me.status.text;
        status.className = "alert alert-" + st.me.status.tone + " room-status" + (st.me.outbid ? " room-outbid" : "");
      }
      var input = form && form.querySelector("[data-next-min]");
      if (seqChanged && messageSeq !== null && messageSeq !== st.seq) {
        setText("bid_message", "");  // what was said about an earlier price (已被接受, a refusal) no longer holds
        messageSeq = null;
      }
      if (input && st.me.next_min) {
        var typed = amountOf(input.value), lowest = amountOf(st.me.next_min);
        if (seqChanged && pending && amountOf(pending.amount) < lowest) {
          cancelConfirm();  // the amount being confirmed is no longer enough
        }
        var typing = document.activeElement === input;  // never rewrite what is being typed, unless outbid
        if (!pending && ((!typing && (input.value === "" || input.value === lastNextMin)) ||
                         (seqChanged && (typed === null || typed < lowest)))) {
          input.value = st.me.next_min;  // refilled with the next valid amount
          showUpper();
        }
      }
      lastNextMin = st.me.next_min;
      leading = !!st.me.leading;
      updateButtons();
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
      .catch(function () { closing = false; /* the sweeper concludes it anyway; the next poll asks again */ });
  }

  function poll() {
    var answered = false, signedOut = false;
    fetch(stateUrl, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { signedOut = true; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (st) { if (st) { answered = true; setOffline(false); render(st); } })
      .catch(function () { /* no answer: reconnecting */ })
      .then(function () {
        if (signedOut) {
          setOffline(false);
          setMessage("登录已失效，请刷新页面，重新登录后回到竞价室。");
          return;
        }
        if (!answered) { setOffline(true); setTimeout(poll, 2000); return; }  // reconnecting
        if (phase === "ended" && !outcome && closeUrl && !closing) { return conclude().then(next); }
        next();
      });
  }

  function next() {
    if (phase !== "ended") { setTimeout(poll, 1000); }
    else if (!outcome) { setTimeout(poll, 3000); }  // ended, its result not written yet: look again
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

  function sendingAmount(amount) {  // "160500" → "160,500.00" as the page writes amounts
    var n = amountOf(amount);
    return n === null ? amount : n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
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
      pending = null;
      if (res.ok) {
        form.querySelector('input[name="key"]').value = newKey();
        render(res.body.state);
        setMessage("报价 " + sendingAmount(res.body.amount) + " 元已被接受（第 " + res.body.seq + " 次报价）。");
      } else {
        setMessage(res.body.message || "报价未被接受。");
        var input = form.querySelector("[data-next-min]");
        if (res.body.next_min && amountOf(input.value) !== null && amountOf(input.value) < amountOf(res.body.next_min)) {
          input.value = res.body.next_min;  // the lowest amount that would be accepted now
          showUpper();
        }
      }
    }).catch(function () {
      if (attempt < 2) { setTimeout(function () { send(attempt + 1); }, 500); return; }  // same key: accepted once
      setMessage("网络异常，报价可能没有送达。请在网络恢复后查看报价记录，确认是否成功。");
      pending = null;
    });
  }

  var confirmBox = form && form.querySelector("[data-bid-confirm]");
  var actions = form && form.querySelector("[data-bid-actions]");

  function cancelConfirm() {
    if (!confirmBox || confirmBox.hidden) { return; }
    confirmBox.hidden = true; actions.hidden = false; pending = null;
  }

  if (form) {
    var input = form.querySelector("[data-next-min]");
    input.addEventListener("input", showUpper);
    showUpper();
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (offline) { return; }
      var amount = input.value.replace(/[,，\s]/g, "");
      if (!upper(amount)) { setMessage("请填写正确的金额（数字，最多两位小数）。"); return; }
      pending = { amount: amount, key: form.querySelector('input[name="key"]').value };
      setText("confirm_amount", sendingAmount(amount));
      setText("confirm_upper", upper(amount));
      confirmBox.hidden = false; actions.hidden = true;
      form.querySelector("[data-bid-ok]").focus();
    });
    form.querySelector("[data-bid-ok]").addEventListener("click", function () {
      if (offline || !pending) { return; }
      confirmBox.hidden = true; actions.hidden = false;
      setMessage("正在提交…");
      send(0);
    });
    form.querySelector("[data-bid-cancel]").addEventListener("click", cancelConfirm);
  }
  window.addEventListener("offline", function () { setOffline(true); });
  window.addEventListener("online", function () { /* shown as connected once the server answers */ });
  setInterval(tick, 250);
  poll();
}());

/*
 * 临湘市农村产权流转交易平台 — page behaviour (vanilla JS, loaded with defer).
 * Progressive enhancement only: every page works without this file.
 *
 *  - html.no-js → html.js (CSS hides the phone menu behind the 菜单 button only when JS runs)
 *  - [data-nav-toggle]            opens/closes the phone menu (Esc closes)
 *  - [data-nav-menu]              staff menu groups (<details>): one open at a time, Esc / a click outside closes
 *  - .table-wrap that scrolls     made focusable and named, so the keyboard can scroll it
 *  - .alert[data-dismissible]     gets a × close button
 *  - [data-confirm] on a submit button or a <form>: asks window.confirm() before submitting
 *  - POST forms: a second submit while the first is in flight is ignored (double taps on slow phones);
 *    opt out with data-allow-resubmit on the form
 *  - [data-form-errors]           the error summary gets focus; its links focus the field
 *  - [data-show-when="value"]     shown only while a radio/select in the same form has that value
 *                                 ("name=value" to name the control explicitly)
 *  - [data-copy]                  gets a 复制 button that copies its text
 *  - [data-keep-active-in-view]   a scrolling tab bar keeps its current tab in view
 *  - input/textarea[maxlength]    says when the limit is reached or a paste did not fit (never a silent cut)
 *  - form[data-keep="key"]        what is typed is kept in sessionStorage and filled in again after a lost session
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  root.className = root.className.replace(/\bno-js\b/, "") + " js";

  function each(selector, fn, scope) {
    Array.prototype.forEach.call((scope || doc).querySelectorAll(selector), fn);
  }

  function closest(el, selector) {
    while (el && el.nodeType === 1) {
      if (el.matches(selector)) { return el; }
      el = el.parentElement;
    }
    return null;
  }

  /* ---------- phone menu ---------- */
  function initNav() {
    var btn = doc.querySelector("[data-nav-toggle]");
    var header = doc.querySelector("[data-site-header]");
    if (!btn || !header) { return; }
    function setOpen(open) {
      header.classList.toggle("nav-open", open);
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    }
    btn.addEventListener("click", function () {
      setOpen(!header.classList.contains("nav-open"));
    });
    doc.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Esc") && header.classList.contains("nav-open")) {
        setOpen(false);
        btn.focus();
      }
    });
    doc.addEventListener("click", function (e) {
      if (header.classList.contains("nav-open") && !header.contains(e.target)) { setOpen(false); }
    });
  }

  /* ---------- staff menu groups (<details data-nav-menu>) ----------
   * Native <details> opens and closes with Enter/Space and a tap; here only: one open at a time, Esc closes the
   * open one (focus back on its title), a click outside closes it. */
  function initNavMenus() {
    var menus = doc.querySelectorAll("[data-nav-menu]");
    if (!menus.length) { return; }
    function closeAll(except) {
      Array.prototype.forEach.call(menus, function (m) { if (m !== except) { m.open = false; } });
    }
    Array.prototype.forEach.call(menus, function (m) {
      m.addEventListener("toggle", function () { if (m.open) { closeAll(m); } });
    });
    doc.addEventListener("keydown", function (e) {
      if (e.key !== "Escape" && e.key !== "Esc") { return; }
      var open = doc.querySelector("[data-nav-menu][open]");
      if (!open) { return; }
      open.open = false;
      open.querySelector("summary").focus();
      e.stopPropagation();  // the phone menu around it stays open
    }, true);
    doc.addEventListener("click", function (e) {
      if (!closest(e.target, "[data-nav-menu]")) { closeAll(null); }
    });
  }

  /* ---------- wide tables: a table that scrolls sideways inside its card can be scrolled with the keyboard ----------
   * (focusable, named region: axe scrollable-region-focusable); templates may mark it themselves with tabindex. */
  function initScrollRegions() {
    function mark() {
      each(".table-wrap:not([tabindex])", function (wrap) {
        if (wrap.scrollWidth <= wrap.clientWidth + 1) { return; }
        var card = closest(wrap, ".card");
        var heading = card && card.querySelector(".card-header h2, .card-header h3");
        var caption = wrap.querySelector("caption");
        var name = (caption || heading || doc.querySelector("h1") || {}).textContent || "表格";
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", name.trim() + "（可左右滚动）");
      });
    }
    mark();
    window.addEventListener("resize", mark);
  }

  /* ---------- dismissible alerts ---------- */
  function initAlerts() {
    each(".alert[data-dismissible]", function (alert) {
      if (alert.querySelector(".alert-close")) { return; }
      var b = doc.createElement("button");
      b.type = "button";
      b.className = "alert-close";
      b.setAttribute("aria-label", "关闭提示");
      b.textContent = "×";
      b.addEventListener("click", function () {
        alert.classList.add("is-leaving");
        window.setTimeout(function () {
          var box = alert.parentNode;
          if (box) { box.removeChild(alert); }
          if (box && box.classList.contains("flashes") && !box.querySelector(".alert")) {
            box.parentNode.removeChild(box);
          }
        }, 200);
      });
      alert.appendChild(b);
    });
  }

  /* ---------- confirm + double-submit guard ---------- */
  var lastSubmitter = null;
  doc.addEventListener("click", function (e) {
    var b = closest(e.target, "button, input[type=submit], input[type=image]");
    if (b && b.form && (b.type === "submit" || b.type === "image")) { lastSubmitter = b; }
  }, true);

  doc.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || !form || form.nodeName !== "FORM") { return; }
    var submitter = e.submitter || (lastSubmitter && lastSubmitter.form === form ? lastSubmitter : null);
    lastSubmitter = null;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      e.preventDefault();
      return;
    }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || form.hasAttribute("data-allow-resubmit")) {
      return;
    }
    if (form.getAttribute("data-submitting")) {
      e.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "1");
    if (submitter) { submitter.classList.add("is-busy"); }
    window.setTimeout(function () {
      form.removeAttribute("data-submitting");
      if (submitter) { submitter.classList.remove("is-busy"); }
    }, 8000);
  });

  // coming back with the browser's Back button must not leave forms locked
  window.addEventListener("pageshow", function () {
    each("form[data-submitting]", function (f) { f.removeAttribute("data-submitting"); });
    each(".is-busy", function (b) { b.classList.remove("is-busy"); });
  });

  /* ---------- form error summary ---------- */
  function focusField(target) {
    if (!target) { return; }
    var control = target.matches("input, select, textarea, button") ? target :
      target.querySelector("input:not([type=hidden]), select, textarea");
    if (control) {
      control.focus();
      if (control.scrollIntoView) { control.scrollIntoView({ block: "center" }); }
    }
  }

  function initErrorSummary() {
    var summary = doc.querySelector("[data-form-errors]");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (e) {
      var a = closest(e.target, "a[href^='#']");
      if (!a) { return; }
      var target = doc.getElementById(decodeURIComponent(a.getAttribute("href").slice(1)));
      if (target) {
        e.preventDefault();
        focusField(target);
      }
    });
  }

  /* ---------- conditional sections ---------- */
  function initShowWhen() {
    var items = doc.querySelectorAll("[data-show-when]");
    if (!items.length) { return; }

    function currentValues(form, name) {
      var values = [];
      each("input[type=radio], input[type=checkbox], select", function (c) {
        if (name && c.name !== name) { return; }
        if (c.nodeName === "SELECT") {
          if (name) { values.push(c.value); }
        } else if (c.checked) {
          values.push(c.value);
        }
      }, form);
      return values;
    }

    function hasOption(form, value) {
      var found = false;
      each("input[type=radio], input[type=checkbox]", function (c) { if (c.value === value) { found = true; } }, form);
      return found;
    }

    function update() {
      Array.prototype.forEach.call(items, function (el) {
        var form = closest(el, "form") || doc;
        var spec = el.getAttribute("data-show-when");
        var name = null;
        var wanted = spec;
        if (spec.indexOf("=") > 0) {
          name = spec.slice(0, spec.indexOf("="));
          wanted = spec.slice(spec.indexOf("=") + 1);
        } else if (!hasOption(form, spec)) {
          return;  // nothing in the form can switch it: leave it visible
        }
        var show = wanted.split("|").some(function (w) { return currentValues(form, name).indexOf(w) !== -1; });
        el.hidden = !show;
      });
    }

    doc.addEventListener("change", function (e) {
      if (e.target && e.target.matches("input, select")) { update(); }
    });
    update();
  }

  /* ---------- copy buttons ---------- */
  function initCopy() {
    each("[data-copy]", function (el) {
      var b = doc.createElement("button");
      b.type = "button";
      b.className = "btn btn-secondary btn-sm copy-btn";
      b.textContent = "复制";
      b.addEventListener("click", function () {
        var text = (el.getAttribute("data-copy") || el.textContent).trim();
        function done(ok) {
          b.textContent = ok ? "已复制" : "请长按或手动选择复制";
          window.setTimeout(function () { b.textContent = "复制"; }, 2500);
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
          return;
        }
        var range = doc.createRange();
        range.selectNodeContents(el);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        var ok = false;
        try { ok = doc.execCommand("copy"); } catch (err) { ok = false; }
        done(ok);
      });
      el.insertAdjacentElement("afterend", b);
    });
  }

  /* ---------- step tabs: the current step stays in view (a phone shows 2–3 of the 6 tabs) ---------- */
  function initActiveInView() {
    each("[data-keep-active-in-view]", function (bar) {
      var active = bar.querySelector(".active, [aria-current]");
      if (!active || bar.scrollWidth <= bar.clientWidth) { return; }
      var left = active.offsetLeft - bar.offsetLeft - (bar.clientWidth - active.offsetWidth) / 2;
      bar.scrollLeft = Math.max(0, left);
    });
  }

  /* ---------- text limits: what maxlength would cut is said, never silently dropped ----------
   * An input or textarea with maxlength (20 or more: not the ID numbers) shows, beside the field, that the limit is
   * reached, or how much of a paste did not fit. */
  function initLimits() {
    function note(field, text) {
      var box = closest(field, ".field") || field.parentNode;
      var p = box.querySelector(".field-limit");
      if (!p) {
        p = doc.createElement("p");
        p.className = "field-limit";
        p.id = (field.id || field.name) + "-limit";
        p.setAttribute("role", "status");
        box.appendChild(p);
        var described = field.getAttribute("aria-describedby");
        field.setAttribute("aria-describedby", (described ? described + " " : "") + p.id);
      }
      p.textContent = text;
      p.hidden = !text;
    }
    function max(field) { return parseInt(field.getAttribute("maxlength"), 10) || 0; }
    doc.addEventListener("beforeinput", function (e) {
      var f = e.target;
      if (!f || !f.matches || !f.matches("input[maxlength], textarea[maxlength]") || max(f) < 20) { return; }
      var data = e.data || (e.dataTransfer && e.dataTransfer.getData("text")) || "";
      if (!data) { return; }
      var selected = (f.selectionEnd || 0) - (f.selectionStart || 0);
      var would = f.value.length - selected + data.length;
      if (would > max(f)) {
        note(f, "最多 " + max(f) + " 个字。刚才输入或粘贴的内容有 " + (would - max(f)) + " 个字超出，没有填进去，请精简后再填。");
        f.setAttribute("data-limit-cut", "1");
      }
    });
    doc.addEventListener("input", function (e) {
      var f = e.target;
      if (!f || !f.matches || !f.matches("input[maxlength], textarea[maxlength]") || max(f) < 20) { return; }
      if (f.getAttribute("data-limit-cut")) { f.removeAttribute("data-limit-cut"); return; }
      note(f, f.value.length >= max(f) ? "已达到 " + max(f) + " 个字的上限。" : "");
    });
  }

  /* ---------- forms marked data-keep="key": what is typed survives a lost session ----------
   * Every change is kept in this tab's sessionStorage.  Coming back to the form (after signing in again, or from the
   * "页面已过期" page) fills it in again and says so.  Once the form was sent and the next page shows no error, the
   * kept copy is dropped. */
  var KEEP = "keep:";
  function keptFields(form) {
    return Array.prototype.filter.call(form.elements, function (c) {
      return c.name && c.name !== "csrf_token" && !c.disabled &&
        !/^(hidden|password|file|submit|button|reset|image)$/.test(c.type);
    });
  }
  function readForm(form) {
    var out = {};
    keptFields(form).forEach(function (c) {
      if (c.type === "radio") { if (c.checked) { out[c.name] = c.value; } }
      else if (c.type === "checkbox") { out[c.name] = c.checked; }
      else { out[c.name] = c.value; }
    });
    return out;
  }
  function store() { try { return window.sessionStorage; } catch (err) { return null; } }

  function initKeep() {
    var ss = store();
    if (!ss) { return; }
    var held = doc.querySelector("[data-form-errors], .error-page, input[type=password]");
    var sent = ss.getItem(KEEP + "sent");
    if (sent) {
      ss.removeItem(KEEP + "sent");
      if (!held) { ss.removeItem(KEEP + sent); }  // the form was taken: nothing to keep
    }
    each("form[data-keep]", function (form) {
      var key = KEEP + form.getAttribute("data-keep");
      var raw = ss.getItem(key);
      if (raw) {
        var kept = {};
        try { kept = JSON.parse(raw) || {}; } catch (err) { kept = {}; }
        var changed = false;
        keptFields(form).forEach(function (c) {
          if (!Object.prototype.hasOwnProperty.call(kept, c.name)) { return; }
          var v = kept[c.name];
          if (c.type === "radio") { if (c.checked !== (c.value === v)) { c.checked = c.value === v; changed = true; } }
          else if (c.type === "checkbox") { if (c.checked !== !!v) { c.checked = !!v; changed = true; } }
          else if (c.value !== v) { c.value = v; changed = true; }
        });
        if (changed) {
          var msg = doc.createElement("div");
          msg.className = "alert alert-info";
          msg.setAttribute("role", "status");
          msg.textContent = "已填回您刚才填写、还没有保存的内容，请核对后再保存。";
          form.insertBefore(msg, form.firstChild);
          form.dispatchEvent(new Event("change", { bubbles: true }));
        }
      }
      function save() { try { ss.setItem(key, JSON.stringify(readForm(form))); } catch (err) { /* full: skip */ } }
      form.addEventListener("input", save);
      form.addEventListener("change", save);
      form.addEventListener("submit", function () { save(); ss.setItem(KEEP + "sent", form.getAttribute("data-keep")); });
    });
  }

  // a button that prints the page (CSP: no inline handlers)
  function initPrint() {
    each("[data-print]", function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  function init() {
    initPrint();
    initNav();
    initNavMenus();
    initScrollRegions();
    initAlerts();
    initErrorSummary();
    initShowWhen();
    initCopy();
    initActiveInView();
    initLimits();
    initKeep();
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());

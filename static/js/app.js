/*
 * 临湘市农村产权流转交易平台 — page behaviour (vanilla JS, loaded with defer).
 * Progressive enhancement only: every page works without this file.
 *
 *  - html.no-js → html.js (CSS hides the phone menu behind the 菜单 button only when JS runs)
 *  - [data-nav-toggle]            opens/closes the phone menu (Esc closes)
 *  - .alert[data-dismissible]     gets a × close button
 *  - [data-confirm] on a submit button or a <form>: asks window.confirm() before submitting
 *  - POST forms: a second submit while the first is in flight is ignored (double taps on slow phones);
 *    opt out with data-allow-resubmit on the form
 *  - [data-form-errors]           the error summary gets focus; its links focus the field
 *  - [data-show-when="value"]     shown only while a radio/select in the same form has that value
 *                                 ("name=value" to name the control explicitly)
 *  - [data-copy]                  gets a 复制 button that copies its text
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

  function init() {
    initNav();
    initAlerts();
    initErrorSummary();
    initShowWhen();
    initCopy();
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());

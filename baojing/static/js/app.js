// Small glue around htmx 4. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  function csrfToken(elt) {
    // Prefer the token of the form the request comes from: after a re-login the
    // page's <meta> may be older than the form.
    var form = elt && elt.closest ? elt.closest("form") : null;
    var field = form ? form.querySelector("input[name=csrf_token]") : null;
    if (field) return field.value;
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // Every htmx request carries the CSRF token as a header as well (Flask-WTF reads it).
  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail.ctx;
    ctx.request.headers["X-CSRFToken"] = csrfToken(ctx.sourceElement);
  });

  // A failed request on a weak signal: say so, and leave what was typed where it is.
  document.addEventListener("htmx:error", function (evt) {
    var box = document.getElementById("messages");
    if (!box) return;
    var status = evt.detail && evt.detail.ctx && evt.detail.ctx.response && evt.detail.ctx.response.status;
    if (status) return; // the server answered; its answer is already on the page
    // An autosave (thought reports) says so where its "已保存" was; it tries again when
    // the signal returns, and the tab's own draft copy keeps the text meanwhile.
    var saved = evt.target.closest && evt.target.closest("form[data-autosave]");
    var line = saved && saved.querySelector(".autosave-text");
    if (line) {
      line.textContent = "未保存：网络不畅，恢复后会自动保存";
      line.parentNode.classList.add("failed");
    }
    // A form with an outbox (static/js/outbox.js) keeps the submission and says 待发送.
    if (window.indexedDB && evt.target.closest && evt.target.closest("form[data-outbox]")) return;
    box.innerHTML = "";
    var p = document.createElement("p");
    p.className = "flash warning";
    p.textContent = "网络不畅，请求没有送达。您填写的内容仍在页面上，请稍后再试。";
    box.appendChild(p);
  });

  // Drafts: forms marked data-draft keep what was typed in this tab's sessionStorage
  // until the server confirms the save (a page carrying data-clear-draft).
  // Never kept in a draft: secrets, bookkeeping, and the full ID number.
  var SKIP = { csrf_token: 1, password: 1, current_password: 1, new_password: 1, confirm: 1,
               version: 1, original: 1, request_id: 1, id_number: 1, code: 1 };

  function saveDraft(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "hidden" || el.type === "file") return;
      if (el.type === "checkbox" || el.type === "radio") {
        data[el.name + "=" + el.value] = el.checked;
      } else {
        data[el.name] = el.value;
      }
    });
    try { sessionStorage.setItem("draft:" + form.dataset.draft, JSON.stringify(data)); } catch (e) { /* full or disabled */ }
  }

  function restoreDraft(form) {
    var raw = null;
    try { raw = sessionStorage.getItem("draft:" + form.dataset.draft); } catch (e) { return; }
    if (!raw) return;
    var data = JSON.parse(raw), restored = false;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "hidden") return;
      if (el.type === "checkbox" || el.type === "radio") {
        var key = el.name + "=" + el.value;
        if (key in data && el.checked !== data[key]) { el.checked = data[key]; restored = true; }
      } else if (el.name in data && el.value !== data[el.name]) {
        el.value = data[el.name]; restored = true;
      }
    });
    if (restored) {
      // A form folded away in <details> (the award form, a reversal) opens to show it.
      var fold = form.closest("details");
      if (fold) fold.open = true;
      var note = form.querySelector(".draft-note");
      if (!note) return;
      note.hidden = false;
      var discard = note.querySelector("button");
      if (discard) discard.addEventListener("click", function (evt) {
        evt.preventDefault();
        try { sessionStorage.removeItem("draft:" + form.dataset.draft); } catch (e) { /* ignore */ }
        window.location.reload();
      });
    }
  }

  function initForms(root) {
    Array.prototype.forEach.call(root.querySelectorAll("form[data-draft]"), function (form) {
      if (form.dataset.draftReady) return;
      form.dataset.draftReady = "1";
      if (!form.dataset.fresh) restoreDraft(form);
      form.addEventListener("input", function () { saveDraft(form); });
      form.addEventListener("change", function () { saveDraft(form); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-clear-draft]"), function (clear) {
      clear.getAttribute("data-clear-draft").split(" ").forEach(function (key) {
        try { sessionStorage.removeItem("draft:" + key); } catch (e) { /* ignore */ }
      });
    });
    // The login page: whoever logs in next on this tab must not get the last
    // person's unsaved drafts.
    if (document.querySelector("[data-clear-all-drafts]")) {
      try {
        Object.keys(sessionStorage).forEach(function (key) {
          if (key.indexOf("draft:") === 0) sessionStorage.removeItem(key);
        });
      } catch (e) { /* ignore */ }
    }
  }

  // A second tap on a submit button while the first is on its way does nothing
  // (a courtesy only: the server refuses duplicates by itself).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    if (form.dataset.submitting) { evt.preventDefault(); return; }
    form.dataset.submitting = "1";
    setTimeout(function () { delete form.dataset.submitting; }, 8000);
  });

  // Buttons that confirm before a destructive or privileged POST.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest("[data-confirm]") : null;
    if (!btn) return;
    // Ask only once the form is complete (a missing reason is said first, not after 确定).
    if (btn.form && !btn.form.checkValidity()) { btn.form.reportValidity(); evt.preventDefault(); return; }
    if (!window.confirm(btn.getAttribute("data-confirm"))) evt.preventDefault();
  });

  // A "显示" switch on password fields: a 12-character passphrase on a phone keyboard
  // is easy to mistype blind.
  function addPasswordToggles(root) {
    Array.prototype.forEach.call(root.querySelectorAll("input[type=password]"), function (input) {
      if (input.dataset.toggle) return;
      input.dataset.toggle = "1";
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "plain show-password";
      btn.textContent = "显示";
      btn.setAttribute("aria-pressed", "false");
      btn.addEventListener("click", function () {
        var shown = input.type === "text";
        input.type = shown ? "password" : "text";
        btn.textContent = shown ? "显示" : "隐藏";
        btn.setAttribute("aria-pressed", shown ? "false" : "true");
      });
      input.insertAdjacentElement("afterend", btn);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initForms(document);
    addPasswordToggles(document);
    // After a refused submit, put the cursor where the first problem is.
    var bad = document.querySelector("[aria-invalid=true]");
    if (bad) bad.focus();
  });
  document.addEventListener("htmx:after:swap", function () { initForms(document); });
})();

// Print buttons (receipts): a click handler, since the CSP forbids inline onclick.
document.addEventListener("click", function (evt) {
  var target = evt.target;
  if (target && target.classList && target.classList.contains("print-button")) window.print();
});

// The counter: after a redemption only the member's heading is redrawn, so the
// 兑换 buttons follow the new balance here (the server checks it again anyway).
document.addEventListener("htmx:after:swap", function () {
  var shown = document.getElementById("balance");
  if (!shown) return;
  var balance = parseInt(shown.textContent, 10);
  document.querySelectorAll(".offer-form button[data-price]").forEach(function (button) {
    var form = button.form;
    var qty = form && form.elements.quantity ? parseInt(form.elements.quantity.value, 10) || 1 : 1;
    var short = parseInt(button.dataset.price, 10) * qty > balance;
    button.disabled = short || button.hasAttribute("data-unavailable");
    var note = button.parentNode.querySelector(".short-note");
    if (note) note.hidden = !short;
  });
});

// Long checklists (a 主题党日 of 300 names): a name filter that only hides rows, so
// ticked names stay ticked, and a running count of how many are ticked.
document.addEventListener("input", function (evt) {
  var box = evt.target;
  if (!box.matches || !box.matches("[data-filter-checks]")) return;
  var needle = box.value.trim();
  box.closest("fieldset").querySelectorAll("label").forEach(function (row) {
    if (!row.querySelector("input[type=checkbox]")) return;
    row.hidden = needle !== "" && row.textContent.indexOf(needle) === -1;
  });
});
document.addEventListener("change", function (evt) {
  var set = evt.target.closest && evt.target.closest("fieldset");
  var out = set && set.querySelector("[data-checked-count]");
  if (out) out.textContent = "，已勾选 " + set.querySelectorAll("input[type=checkbox]:checked").length + " 人";
});
document.querySelectorAll("[data-filter-checks]").forEach(function (box) { box.hidden = false; });

// Visit photos: shrink on the phone before upload (a 4 MB camera photo becomes a few
// hundred KB on a weak signal). Re-drawing on a canvas also drops EXIF, location
// included; the server re-encodes anyway. When anything fails the original is sent.
(function () {
  "use strict";
  var MAX_SIDE = 1600;

  function shrink(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size < 600 * 1024) return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size ? new File([blob], "photo.jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("input[type=file][data-shrink-photos]") || !input.files.length) return;
    if (!window.DataTransfer) return;
    var button = input.form && input.form.querySelector("button[type=submit]");
    var hint = document.getElementById(input.id + "-hint");
    var before = 0;
    Array.prototype.forEach.call(input.files, function (f) { before += f.size; });
    input.form.dataset.shrinking = "1";
    if (button) { button.disabled = true; button.dataset.label = button.textContent; button.textContent = "正在压缩照片…"; }
    Promise.all(Array.prototype.map.call(input.files, shrink)).then(function (files) {
      var dt = new DataTransfer(), after = 0;
      files.forEach(function (f) { dt.items.add(f); after += f.size; });
      input.files = dt.files;
      if (hint && after < before) {
        hint.textContent = "已选 " + files.length + " 张，压缩后共 " + Math.ceil(after / 1024) + " KB（原 " + Math.ceil(before / 1024) + " KB）";
      }
    }).finally(function () {
      delete input.form.dataset.shrinking;
      if (button) { button.disabled = false; button.textContent = button.dataset.label; }
    });
  });

  // Enter in a text field while photos are still being shrunk: wait, do not send.
  document.addEventListener("submit", function (evt) {
    if (evt.target.dataset && evt.target.dataset.shrinking) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
})();

// A choice that implies a default elsewhere (证明信 six months, 活动证 a year): follow it
// until the person edits that field themself.
document.addEventListener("change", function (evt) {
  var choice = evt.target;
  if (!choice.matches || !choice.matches("[data-sets][data-value]") || !choice.checked) return;
  var target = document.querySelector(choice.getAttribute("data-sets"));
  if (target && !target.dataset.edited) target.value = choice.getAttribute("data-value");
});
document.addEventListener("input", function (evt) {
  if (evt.target.matches && evt.target.matches("[data-default-follows]")) evt.target.dataset.edited = "1";
});

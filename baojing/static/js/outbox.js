// The outbox: a form marked data-outbox that cannot be sent for want of signal is kept on
// the phone (IndexedDB) with its idempotency key (request_id) and sent when the signal
// returns. Sent by the page (the online event, every page load) or by the service worker
// (static/js/sw.js loads this same file: Background Sync, and when it starts). The key makes
// a second send of one entry harmless: the server answers it with what the first one saved.
//
// An entry: { id: request_id, url, fields: [[name, text or File]], user, title, page,
//   queuedAt, state: "waiting" | "login" | "attention", status, problem }.
// Never stored: the CSRF token (a fresh one is fetched before sending), passwords and the
// full ID number. No framework, no build step.
var BaojingOutbox = (function () {
  "use strict";
  const DB = "baojing-outbox";
  const STORE = "entries";
  const NEVER = {
    csrf_token: 1, password: 1, current_password: 1, new_password: 1, confirm: 1, id_number: 1,
  };
  // Pages and the worker tell each other what they sent (one channel object per context:
  // a second one here would hear this context's own messages).
  const channel = self.BroadcastChannel ? new BroadcastChannel("baojing-outbox") : null;
  if (channel) {
    channel.onmessage = function (m) { if (self.BaojingOutboxPage) self.BaojingOutboxPage.changed(m.data); };
  }

  // --- IndexedDB, one small store keyed by request_id ---------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  async function inStore(mode, action) {
    const db = await openDb();
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(STORE, mode);
      const req = action(tx.objectStore(STORE));
      tx.oncomplete = function () { db.close(); resolve(req.result); };
      tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
    });
  }

  async function all() {
    const rows = await inStore("readonly", function (s) { return s.getAll(); });
    return rows.sort(function (a, b) { return a.queuedAt - b.queuedAt; });
  }
  function put(entry) { return inStore("readwrite", function (s) { return s.put(entry); }); }
  function remove(id) { return inStore("readwrite", function (s) { return s.delete(id); }); }

  // --- sending -------------------------------------------------------------------------

  // The page and the service worker may both start sending when the signal returns:
  // one at a time (Web Locks where there are any; the keys cover the rest).
  function oneAtATime(task) {
    const locks = self.navigator && self.navigator.locks;
    return locks ? locks.request("baojing-outbox", task) : task();
  }

  // The session cookie outlives the token a form carried (and a re-login changes it):
  // ask this session for a fresh one. HX-Request makes an ended session a 401, not a
  // redirect to the login page.
  async function freshToken() {
    const res = await fetch("/outbox/token", {
      credentials: "same-origin", cache: "no-store", headers: { "HX-Request": "true" },
    });
    if (res.status === 401 || res.status === 403) return { login: true };
    if (!res.ok) throw new Error("token: " + res.status);
    return res.json();
  }

  function send(entry, token) {
    const body = new FormData();
    entry.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.append("csrf_token", token.csrf_token);
    return fetch(entry.url, {
      method: "POST", body: body, credentials: "same-origin",
      // As htmx sends it: success is a 200 with HX-Redirect (its flash waits for the next
      // page), an ended session a 401.
      headers: { "X-CSRFToken": token.csrf_token, "HX-Request": "true" },
    });
  }

  // Send what waits, oldest first; stop at the first sign of no signal.
  // Resolves to { sent: [{id, title, page, target}], waiting: n, retry: bool }.
  function flush() {
    return oneAtATime(async function () {
      const result = { sent: [], waiting: 0, retry: false };
      const due = (await all()).filter(function (e) { return e.state !== "attention"; });
      if (!due.length) return result;
      let token;
      try { token = await freshToken(); } catch (e) { result.retry = true; return count(result); }
      for (const entry of due) {
        if (token.login) { await mark(entry, "login"); continue; }
        // A phone may be shared: only the user who typed it sends it.
        if (String(entry.user) !== String(token.user)) continue;
        let res;
        try { res = await send(entry, token); } catch (e) { result.retry = true; break; }
        if (res.ok) {
          await remove(entry.id);
          result.sent.push({ id: entry.id, title: entry.title, page: entry.page,
                             target: res.headers.get("HX-Redirect") || "" });
        } else if (res.status === 401 || (res.status === 403 && res.headers.get("HX-Redirect"))) {
          token = { login: true };
          await mark(entry, "login");
        } else if (res.status >= 500 || res.status === 408 || res.status === 429) {
          result.retry = true; // the server's trouble, not the form's: later
          break;
        } else {
          // Refused (422, 409, 413 …): never dropped. Kept for the person to open the
          // form with what they typed; the server's answer says why.
          entry.problem = (await res.text()).slice(0, 20000);
          entry.status = res.status;
          await mark(entry, "attention");
        }
      }
      return count(result);
    }).then(function (result) {
      announce(result);
      return result;
    });
  }

  async function count(result) {
    result.waiting = (await all()).filter(function (e) { return e.state !== "attention"; }).length;
    return result;
  }

  function mark(entry, state) {
    entry.state = state;
    return put(entry);
  }

  // Tell every open page (and this one: a channel does not echo to its sender).
  function announce(result) {
    if (channel) channel.postMessage(result);
    if (self.BaojingOutboxPage) self.BaojingOutboxPage.changed(result);
  }

  return { all: all, put: put, remove: remove, flush: flush, announce: announce, NEVER: NEVER };
})();

// --- the page side: forms opt in with data-outbox="what it is" ----------------------------
if (typeof document !== "undefined") (function (outbox) {
  "use strict";
  const here = location.pathname + location.search;
  const offlinePage = document.body.hasAttribute("data-offline-page");

  function user() {
    const meta = document.querySelector("meta[name=outbox-user]");
    return meta ? meta.content : "";
  }

  function keyOf(form) {
    return form.elements.request_id ? form.elements.request_id.value : "";
  }

  function pathOf(url) {
    const u = new URL(url, location.href);
    return u.pathname + u.search;
  }

  // Keep a form that could not be sent. No key, no outbox: a resend could save twice.
  async function keep(form, state) {
    const id = keyOf(form);
    if (!id) return false;
    const fields = [];
    new FormData(form).forEach(function (value, name) {
      if (outbox.NEVER[name]) return;
      if (value instanceof File && !value.size) return; // an empty file input
      fields.push([name, value]);
    });
    await outbox.put({
      id: id, url: pathOf(form.action), fields: fields, typed: typed(form), user: user(), page: here,
      title: form.dataset.outbox || document.title, queuedAt: Date.now(), state: state || "waiting",
    });
    askToSend();
    render();
    return true;
  }

  // What was typed, as the person would read it (label, text), to show beside a refused
  // entry whose form cannot be opened again (say, the case was cancelled meanwhile).
  function typed(form) {
    const rows = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      const set = el.closest("fieldset");
      if (el.type === "radio" && el.checked && set && set.querySelector("legend")) {
        rows.push([set.querySelector("legend").textContent, el.labels[0].textContent.trim()]);
      } else if ((el.tagName === "TEXTAREA" || /^(text|date|number|tel)$/.test(el.type)) &&
                 !outbox.NEVER[el.name] && el.value.trim() && el.labels && el.labels[0]) {
        rows.push([el.labels[0].textContent.replace(/\s*\*$/, ""), el.value]);
      }
    });
    return rows;
  }

  function askToSend() {
    // Background Sync sends even after the page is closed; where there is none, the
    // online event and the next page load do. On a signal that only seems to be there,
    // try again in a while.
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) {
        return reg.sync && reg.sync.register("outbox");
      }).catch(function () { /* no Background Sync */ });
    }
    clearTimeout(askToSend.timer);
    askToSend.timer = setTimeout(sendNow, 60000);
  }

  function sendNow() {
    if (navigator.onLine === false) return;
    outbox.flush().catch(function () { /* IndexedDB unavailable: nothing was kept */ });
  }

  // Fill a form with a kept entry (its fields, photos and key), for a second look. After a
  // 409 the key is spent (saved once with other content): the page's own new key is kept.
  function fill(form, entry) {
    form.dataset.outboxFilled = entry.id;
    const values = {};
    entry.fields.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token") return;
      if (el.name === "request_id" && entry.status === 409) return;
      const got = values[el.name] || [];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = got.indexOf(el.value) !== -1;
      } else if (el.type === "file") {
        if (!window.DataTransfer) return;
        const dt = new DataTransfer();
        got.forEach(function (f) { if (f instanceof File) dt.items.add(f); });
        el.files = dt.files;
      } else if (got.length) {
        el.value = got[0];
      }
    });
  }

  // Why the server refused an entry: the messages its form came back with.
  function reason(entry) {
    if (entry.status === 409) return "这条记录已经保存过，后来又改了内容";
    if (entry.status === 413) return "照片太大";
    const doc = new DOMParser().parseFromString(entry.problem || "", "text/html");
    const said = Array.prototype.map.call(
      doc.querySelectorAll(".field-error[role=alert], .flash.error, h1"),
      function (el) { return el.textContent.trim(); }
    ).filter(Boolean);
    return said.length ? said.join("；") : "服务器拒收（" + entry.status + "）";
  }

  function line(cls, text) {
    const p = document.createElement("p");
    p.className = "flash " + cls;
    p.textContent = text;
    return p;
  }

  function button(label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "plain";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function discard(entry) {
    return function () {
      if (!window.confirm("丢弃后这条记录不会再发送，确定？")) return;
      outbox.remove(entry.id).then(render);
    };
  }

  function statusOf(entry, waiting) {
    if (entry.state === "attention") {
      const p = line("error", "没有发送成功：" + reason(entry) + "。内容已填回表单，请检查后重新保存。");
      p.appendChild(button("丢弃这条记录", discard(entry)));
      return p;
    }
    if (entry.state === "login") {
      return line("warning", "待发送：登录已过期，请重新登录，登录后会自动发送（共 " + waiting + " 条待发送）。");
    }
    return line("warning", "待发送：没有信号，已保存在手机上，有信号时会自动发送（共 " + waiting + " 条待发送）。");
  }

  // What the outbox holds, on this page: by its form, and the rest in #outbox.
  async function render() {
    let entries;
    try { entries = await outbox.all(); } catch (e) { return; }
    const me = user();
    if (!offlinePage) entries = entries.filter(function (e) { return String(e.user) === me; });
    const waiting = entries.filter(function (e) { return e.state !== "attention"; }).length;
    const shown = {};
    document.querySelectorAll("form[data-outbox]").forEach(function (form) {
      let status = form.querySelector(".outbox-status");
      if (!status) {
        status = document.createElement("div");
        status.className = "outbox-status";
        status.setAttribute("role", "status");
        form.insertBefore(status, form.firstChild);
      }
      status.replaceChildren();
      const entry = entries.find(function (e) { return e.id === keyOf(form); });
      if (entry) {
        shown[entry.id] = true;
        status.appendChild(statusOf(entry, waiting));
      }
    });
    const box = document.getElementById("outbox");
    if (!box) return;
    const rest = entries.filter(function (e) { return !shown[e.id]; });
    box.replaceChildren();
    box.hidden = !rest.length;
    const queued = rest.filter(function (e) { return e.state !== "attention"; });
    if (queued.length) {
      box.appendChild(line("warning", "待发送 " + queued.length + " 条：已保存在手机上，" +
        (queued.some(function (e) { return e.state === "login"; }) ? "重新登录后会自动发送。" : "有信号时会自动发送。")));
    }
    const list = document.createElement("ul");
    rest.forEach(function (e) {
      const li = document.createElement("li");
      li.textContent = e.title + (e.state === "attention" ? "（没有发送成功：" + reason(e) + "）" : "（待发送）");
      if (e.state === "attention" && e.typed && e.typed.length) {
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = "查看填写的内容";
        const dl = document.createElement("dl");
        dl.className = "facts";
        e.typed.forEach(function (row) {
          const dt = document.createElement("dt"), dd = document.createElement("dd");
          dt.textContent = row[0];
          dd.textContent = row[1];
          dl.append(dt, dd);
        });
        details.append(summary, dl);
        li.appendChild(details);
      }
      if (e.state === "attention" && !offlinePage) {
        const a = document.createElement("a");
        a.href = e.page;
        a.textContent = "打开表单";
        li.appendChild(a);
        li.appendChild(button("丢弃", discard(e)));
      }
      list.appendChild(li);
    });
    if (rest.some(function (e) { return e.state === "attention"; })) {
      box.appendChild(line("error", "有记录没有发送成功，需要您处理："));
    }
    if (rest.length) box.appendChild(list);
  }

  // Something was sent (here or by the service worker): say so; if it was this page's
  // form, go where a normal save would have gone.
  function changed(result) {
    render();
    if (!result || !result.sent || !result.sent.length) return;
    const box = document.getElementById("messages");
    if (box) {
      box.appendChild(line("success", "已发送：" + result.sent.map(function (s) { return s.title; }).join("、")));
    }
    const mine = result.sent.find(function (s) { return s.page === here && s.target; });
    if (mine) {
      leaving = true;
      location.assign(mine.target);
    }
  }
  let leaving = false;
  self.BaojingOutboxPage = { changed: changed };

  // Offline: do not even try; keep it. (Other submit handlers that stop a submit, such as
  // app.js's wait for photos being shrunk, run before this one.)
  document.addEventListener("submit", function (evt) {
    const form = evt.target;
    if (!form.matches || !form.matches("form[data-outbox]") || navigator.onLine !== false) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    keep(form).catch(noOutbox);
  }, true);

  // Sent but no answer (no signal after all, or a timeout): keep it.
  document.addEventListener("htmx:error", function (evt) {
    const form = evt.target.closest && evt.target.closest("form[data-outbox]");
    const ctx = evt.detail && evt.detail.ctx;
    if (!form || (ctx && ctx.response && ctx.response.status)) return;
    keep(form).catch(noOutbox);
  });

  // The server answered a form: what it said is on the screen now, so the outbox lets
  // go of that entry. Unless the session had ended: then it is kept for after the login,
  // and htmx is held back from the login page until it is written.
  document.addEventListener("htmx:before:response", function (evt) {
    const form = evt.target.closest && evt.target.closest("form[data-outbox]");
    const response = evt.detail && evt.detail.ctx && evt.detail.ctx.response;
    if (!form || !response) return;
    if (response.status === 401) {
      evt.preventDefault();
      const login = response.headers.get("HX-Redirect") || "/login";
      keep(form, "login").catch(noOutbox).then(function () { location.assign(login); });
    } else {
      const filled = form.dataset.outboxFilled;
      Promise.all([outbox.remove(keyOf(form)), filled && outbox.remove(filled)])
        .then(render).catch(function () { /* nothing kept */ });
    }
  });

  // No IndexedDB (a private tab on an old phone): say what app.js says without an outbox.
  function noOutbox() {
    const box = document.getElementById("messages");
    if (!box) return;
    box.replaceChildren(line("warning", "网络不畅，请求没有送达。您填写的内容仍在页面上，请稍后再试。"));
  }

  document.addEventListener("DOMContentLoaded", async function () {
    if (navigator.serviceWorker) {
      navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" })
        .catch(function () { /* no service worker: the page still sends */ });
    }
    document.querySelectorAll("[data-reload]").forEach(function (b) {
      b.addEventListener("click", function () { location.reload(); });
    });
    // Back on a form whose entry waits or was refused: show it with what was typed.
    try {
      const me = user();
      const kept = (await outbox.all()).filter(function (e) { return e.page === here && String(e.user) === me; });
      document.querySelectorAll("form[data-outbox]").forEach(function (form) {
        const entry = kept.filter(function (e) { return e.url === pathOf(form.action); }).pop();
        if (entry) fill(form, entry);
      });
    } catch (e) { /* no IndexedDB */ }
    render();
    sendNow();
  });
  window.addEventListener("online", async function () {
    let ours = false;
    try {
      ours = (await outbox.all()).some(function (e) { return e.page === here; });
      await outbox.flush();
    } catch (e) { /* nothing kept */ }
    // The no-signal page stood in for a real one: load it now. If it stood in for a form
    // whose entry waited, whoever sent it (this page or the worker) says where to go;
    // give that a moment first.
    if (offlinePage) setTimeout(function () { if (!leaving) location.reload(); }, ours ? 3000 : 0);
  });
})(BaojingOutbox);

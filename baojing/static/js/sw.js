// The service worker (served as /sw.js, scope: the whole site). Two jobs, no framework:
// 1. Send what waits in the outbox (outbox.js, loaded here too) when the signal returns:
//    Background Sync where the phone has it, and whenever this worker starts.
// 2. With no signal, show the no-signal page (/offline) instead of the browser's error
//    page, so that a reload still shows what waits. Pages are never kept here (every page
//    is somebody's data, sent with no-store); only /offline and the versioned static files
//    it needs are.
importScripts("/static/js/outbox.js");

const CACHE = "baojing-offline-1";

async function keepOfflinePage() {
  const cache = await caches.open(CACHE);
  const res = await fetch("/offline", { cache: "no-store", credentials: "omit" });
  if (!res.ok) throw new Error("/offline: " + res.status);
  const html = await res.clone().text();
  await cache.put("/offline", res);
  // Its stylesheet and script, by the versioned URLs it names.
  const assets = Array.from(html.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g), (m) => m[1]);
  await cache.addAll(assets);
}

self.addEventListener("install", (event) => {
  event.waitUntil(keepOfflinePage().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
    await BaojingOutbox.flush().catch(() => {});
  })());
});

// Versioned static files (?v=<hash>) never change: from the cache when there, kept when
// fetched; an older version of the same file is dropped.
async function staticFile(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) {
    await cache.put(request, res.clone());
    const path = new URL(request.url).pathname;
    for (const old of await cache.keys()) {
      if (new URL(old.url).pathname === path && old.url !== request.url) await cache.delete(old);
    }
  }
  return res;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // posts go to the network as they are
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(async () => {
      return (await caches.match("/offline")) || Response.error();
    }));
  } else if (url.pathname.startsWith("/static/") && url.searchParams.has("v")) {
    event.respondWith(staticFile(request));
  }
});

// Background Sync: a rejection asks the browser to try again later, with its own backoff.
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil(BaojingOutbox.flush().then((result) => {
    if (result.retry) throw new Error("outbox: not sent yet");
  }));
});

// A worker that starts (a page opened, a fetch) sends what waits, as a fallback for
// phones without Background Sync.
if (self.navigator.onLine) BaojingOutbox.flush().catch(() => {});

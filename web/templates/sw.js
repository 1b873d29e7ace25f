// Samtal's service worker: it keeps the app's static files (content-hashed, so a copy never goes stale)
// and the page shells, so that the app starts without a network and its outbox can wait for one.
//
// It never keeps message content in clear: pages are shells without case data, and API answers,
// attachments and the WebSocket are not handled here at all (no respondWith), so they go to the
// network as if there were no service worker.
const PRECACHE = /*PRECACHE*/[];
const PAGES = /*PAGES*/[];
const VERSION = /*VERSION*/"";
// One pair of caches per version: a page shell kept offline always matches the files kept with it.
const STATIC_CACHE = `samtal-static-${VERSION}`;
const PAGE_CACHE = `samtal-pages-${VERSION}`;
const SHELL = /^\/(?:|cases|inbox|devices|cases\/[A-Za-z0-9_-]{1,64}|inbox\/[A-Za-z0-9_-]{1,64})$/;
const HASHED = /^\/static\/.+\.[0-9a-f]{12}\.[a-z]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const statics = await caches.open(STATIC_CACHE);
    await statics.addAll(PRECACHE.filter((url) => HASHED.test(url)));
    const pages = await caches.open(PAGE_CACHE);
    await Promise.all(PAGES.map(async (path) => {
      const response = await fetch(path, { credentials: "same-origin", redirect: "error" });
      if (response.ok) await pages.put(path, response);
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== STATIC_CACHE && name !== PAGE_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
    // The page that installed this worker was loaded before it: keep that shell too, so that a reload
    // without a network works from the first visit on.
    const pages = await caches.open(PAGE_CACHE);
    for (const client of await self.clients.matchAll({ type: "window" })) {
      const path = new URL(client.url).pathname;
      if (!SHELL.test(path) || await pages.match(path)) continue;
      try {
        const response = await fetch(path, { credentials: "same-origin", redirect: "error" });
        if (response.ok) await pages.put(path, response);
      } catch (error) {
        // offline already: it is kept on the next visit
      }
    }
  })());
});

async function page(request, path) {
  const pages = await caches.open(PAGE_CACHE);
  try {
    const response = await fetch(request);
    const type = response.headers.get("content-type") || "";
    if (response.ok && type.startsWith("text/html")) await pages.put(path, response.clone());
    return response;
  } catch (error) {
    const kept = await pages.match(path) || await pages.match(path.startsWith("/inbox") ? "/inbox" : "/cases");
    if (kept) return kept;
    throw error;
  }
}

async function hashed(request) {
  const statics = await caches.open(STATIC_CACHE);
  const kept = await statics.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await statics.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  if (event.request.mode === "navigate" && SHELL.test(url.pathname) && !url.search) {
    event.respondWith(page(event.request, url.pathname));
  } else if (HASHED.test(url.pathname)) {
    event.respondWith(hashed(event.request));
  }
  // Everything else (the API, attachments, the WebSocket, the manifest) is left to the network.
});

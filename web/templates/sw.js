// Samtal's service worker: it keeps the app's static files (content-hashed, so a copy never goes stale)
// and the page shells, so that the app starts without a network and its outbox can wait for one.
//
// It never keeps message content in clear: pages are shells without case data, and API answers,
// attachments and the WebSocket are not handled here at all (no respondWith), so they go to the
// network as if there were no service worker.
//
// It runs only code of a signed release (web/release.py): on its first install it pins the release key; a
// new version installs only when /release.json is signed by that key and every file it keeps has the SHA-256
// the manifest says. Otherwise the install fails, the browser keeps the worker it has (and with it the code
// kept before), and the pages say so. Scripts and styles that are not in the manifest are never served.
const PRECACHE = /*PRECACHE*/[];
const PAGES = /*PAGES*/[];
const VERSION = /*VERSION*/"";
const RELEASE = /*RELEASE*/"";
const RELEASE_KEY = /*RELEASE_KEY*/"";
// One pair of caches per version: a page shell kept offline always matches the files kept with it.
const STATIC_CACHE = `samtal-static-${VERSION}`;
const PAGE_CACHE = `samtal-pages-${VERSION}`;
// Kept across versions: the pinned release key, the manifest in use, and the last refused update.
const RELEASE_CACHE = "samtal-release";
const SHELL = /^\/(?:|cases|inbox|devices|cases\/[A-Za-z0-9_-]{1,64}|inbox\/[A-Za-z0-9_-]{1,64})$/;
const HASHED = /^\/static\/.+\.[0-9a-f]{12}\.[a-z]+$/;
const LABEL = new TextEncoder().encode("samtal/release-manifest/v1");
const CODE = new Set(["script", "style", "worker", "sharedworker", "serviceworker"]);

class Refused extends Error {}

function unb64u(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function sha256(buffer) {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buffer)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

async function kept(name) {
  const response = await (await caches.open(RELEASE_CACHE)).match(name);
  return response ? response.json() : null;
}

async function keep(name, value) {
  await (await caches.open(RELEASE_CACHE)).put(name, new Response(JSON.stringify(value)));
}

/** /release.json, checked: signed by the pinned key (this worker's, on the first install), of this release. */
async function signedManifest() {
  const pinned = (await kept("/pin"))?.key || RELEASE_KEY;
  if (pinned !== RELEASE_KEY) throw new Refused("the release key changed");
  const response = await fetch("/release.json", { cache: "no-store" });
  if (!response.ok) throw new Refused("no release manifest");
  const outer = await response.json();
  const signed = unb64u(outer.manifest);
  const key = await crypto.subtle.importKey("raw", unb64u(pinned), { name: "Ed25519" }, false, ["verify"]);
  const message = new Uint8Array(LABEL.length + signed.length);
  message.set(LABEL);
  message.set(signed, LABEL.length);
  if (!await crypto.subtle.verify({ name: "Ed25519" }, key, unb64u(outer.signature), message)) {
    throw new Refused("the release manifest's signature does not verify");
  }
  const manifest = JSON.parse(new TextDecoder().decode(signed));
  if (manifest.release !== RELEASE || manifest.release_key !== pinned) throw new Refused("the manifest is of another release");
  return manifest;
}

/** Fetch a file the release names and check it against the manifest before anything keeps or runs it. */
async function verifiedFetch(url, files) {
  const response = await fetch(url, { cache: "no-store", credentials: "same-origin", redirect: "error" });
  const body = await response.arrayBuffer();
  if (!response.ok || !files[url] || await sha256(body) !== files[url]) {
    throw new Refused(`${url} differs from the signed release manifest`);
  }
  return new Response(body, { status: 200, headers: response.headers });
}

async function tellPages(message) {
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
    client.postMessage(message);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    try {
      const manifest = await signedManifest();
      await verifiedFetch("/sw.js", manifest.files); // this worker is the one the release signed
      const statics = await caches.open(STATIC_CACHE);
      for (const url of PRECACHE.filter((u) => HASHED.test(u))) await statics.put(url, await verifiedFetch(url, manifest.files));
      await statics.put("/release-files", new Response(JSON.stringify(manifest.files)));
      const pages = await caches.open(PAGE_CACHE);
      await Promise.all(PAGES.map(async (path) => {
        const response = await fetch(path, { credentials: "same-origin", redirect: "error" });
        if (response.ok) await pages.put(path, response);
      }));
      await keep("/pin", { key: RELEASE_KEY });
    } catch (error) {
      // The install fails: the browser keeps the worker it has, and with it the code it kept before.
      await caches.delete(STATIC_CACHE);
      await caches.delete(PAGE_CACHE);
      if (error instanceof Refused) {
        await keep("/refused", { release: RELEASE, reason: error.message, at: Date.now() });
        await tellPages({ type: "release-refused", reason: error.message });
      }
      throw error;
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== STATIC_CACHE && name !== PAGE_CACHE && name !== RELEASE_CACHE) await caches.delete(name);
    }
    await (await caches.open(RELEASE_CACHE)).delete("/refused");
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

let releaseFiles = null;
async function files() {
  releaseFiles ??= (async () => {
    const response = await (await caches.open(STATIC_CACHE)).match("/release-files");
    return response ? response.json() : {};
  })();
  return releaseFiles;
}

/** A page from the network, unless it loads code this worker's release does not have: then the kept shell. */
async function page(request, path) {
  const pages = await caches.open(PAGE_CACHE);
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const kept = await pages.match(path) || await pages.match(path.startsWith("/inbox") ? "/inbox" : "/cases");
    if (kept) return kept;
    throw error;
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok || !type.startsWith("text/html")) return response;
  const known = await files();
  const code = (await response.clone().text()).match(/\/static\/[^"'\s<>)]+/g) || [];
  if (code.every((url) => known[url])) {
    await pages.put(path, response.clone());
    return response;
  }
  // New code that this worker has not checked (an update still installing, or one it refused).
  return await pages.match(path) || await pages.match(path.startsWith("/inbox") ? "/inbox" : "/cases") || response;
}

async function hashed(request, url) {
  const statics = await caches.open(STATIC_CACHE);
  const kept = await statics.match(request);
  if (kept) return kept;
  try {
    const response = await verifiedFetch(url.pathname, await files());
    await statics.put(request, response.clone());
    return response;
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    return new Response("not in the signed release", { status: 409, headers: { "content-type": "text/plain" } });
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  if (event.request.mode === "navigate" && SHELL.test(url.pathname) && !url.search) {
    event.respondWith(page(event.request, url.pathname));
  } else if (HASHED.test(url.pathname) || CODE.has(event.request.destination)) {
    event.respondWith(hashed(event.request, url));
  }
  // Everything else (the API, attachments, the WebSocket, the manifest) is left to the network.
});

// The requests a page makes as soon as its code runs, started before that code has loaded: on a slow phone
// network each of them was one more round trip after the one before (bench/phone.py, docs/benchmarks.md).
// Only GETs the page makes anyway, of metadata and ciphertext; each answer is handed once to the first api()
// call of the same path with the same device (js/api.js) and is otherwise dropped. Which case's unit and which
// devices to ask for is remembered from this device's last visit (rememberEarly), nothing more.
// A classic deferred module with no imports, so that it runs before the page's own (larger) module graph.
const KEY = "samtal.early";

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "{}");
  } catch (error) {
    return {};
  }
}

function start() {
  const config = JSON.parse(document.getElementById("config")?.textContent || "{}");
  const kept = remembered();
  const wanted = [["/api/me", null]];
  if (config.page === "case" && config.case_id && kept.device) {
    const c = encodeURIComponent(config.case_id);
    const last = kept.cases?.[config.case_id] || {};
    wanted.push([`/api/cases/${c}`, kept.device], [`/api/cases/${c}/keys`, kept.device],
      [`/api/cases/${c}/messages?after=0&limit=200`, kept.device]);
    if (last.unit) wanted.push([`/api/units/${encodeURIComponent(last.unit)}/identity`, kept.device]);
    for (const d of (last.devices || []).slice(0, 20)) wanted.push([`/api/devices/${encodeURIComponent(d)}`, kept.device]);
  }
  const early = new Map();
  for (const [path, device] of wanted) {
    const headers = { Accept: "application/json" };
    if (device) headers["X-Samtal-Device"] = device;
    // The body is read at once: an answer the page never claims (e.g. when a unit's identity fails its check and
    // the conversation stops) must not hold its connection open until the page closes.
    const response = fetch(path, { method: "GET", headers, credentials: "same-origin", cache: "no-store", redirect: "error" })
      .then(async (r) => new Response([204, 304].includes(r.status) ? null : await r.arrayBuffer(),
        { status: r.status, statusText: r.statusText, headers: r.headers }));
    response.catch(() => {}); // a failed one is made again by the page itself
    early.set(path, { device, response });
  }
  globalThis.samtalEarly = early;
}

start();

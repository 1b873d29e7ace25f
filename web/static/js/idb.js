// IndexedDB, the browser's local database: the device keys (non-extractable CryptoKeys, which the
// browser stores without ever revealing their bytes), case keys (same), the outbox of sealed
// envelopes waiting to be sent, and the last case metadata for offline start. Nothing in clear.

const NAME = "samtal";
const VERSION = 1;
let opened = null;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  if (!opened) {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("devices", { keyPath: "user_id" });
      const outbox = db.createObjectStore("outbox", { keyPath: "msg_id" });
      outbox.createIndex("user", "user_id");
      db.createObjectStore("keys"); // "<user>|<case>|<epoch>" -> AES-GCM CryptoKey
      db.createObjectStore("meta"); // "<user>|case|<case>" -> case view; "<user>|me" -> /api/me
    };
    opened = request(req);
  }
  return opened;
}

async function store(name, mode) {
  const db = await open();
  return db.transaction(name, mode).objectStore(name);
}

export async function get(name, key) {
  return request((await store(name, "readonly")).get(key));
}

export async function put(name, value, key) {
  return request((await store(name, "readwrite")).put(value, key));
}

export async function del(name, key) {
  return request((await store(name, "readwrite")).delete(key));
}

export async function byIndex(name, index, value) {
  return request((await store(name, "readonly")).index(index).getAll(value));
}

export async function clear(name) {
  return request((await store(name, "readwrite")).clear());
}

// IndexedDB, the browser's local database: the device keys (non-extractable CryptoKeys, which the
// browser stores without ever revealing their bytes), case keys (same), the outbox of sealed
// envelopes waiting to be sent, the last case metadata for offline start, and drafts of applications
// (encrypted, forms/drafts.js). Nothing in clear.

const NAME = "samtal";
const VERSION = 2;
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
      // Each store is made when it is missing, so that every older version upgrades to this one.
      const db = req.result;
      const missing = (name) => !db.objectStoreNames.contains(name);
      if (missing("devices")) db.createObjectStore("devices", { keyPath: "user_id" });
      if (missing("outbox")) db.createObjectStore("outbox", { keyPath: "msg_id" }).createIndex("user", "user_id");
      if (missing("keys")) db.createObjectStore("keys"); // "<user>|<case>|<epoch>" -> AES-GCM CryptoKey
      if (missing("meta")) db.createObjectStore("meta"); // "<user>|case|<case>" -> case view; "<user>|me" -> /api/me
      if (missing("drafts")) db.createObjectStore("drafts", { keyPath: "id" }).createIndex("user", "user_id");
    };
    // A page of a newer version upgrading the database asks this one to let go; the next use opens it again.
    opened = request(req).then((db) => {
      db.onversionchange = () => {
        db.close();
        opened = null;
      };
      return db;
    });
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

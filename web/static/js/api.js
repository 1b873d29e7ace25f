// HTTP calls to the API: JSON in and out, problem+json turned into ApiError, the device header added.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(`${code}: ${detail}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  get offline() {
    return this.status === 0;
  }
}

let deviceId = null;
let onSignedOut = null;

export function useDevice(id) {
  deviceId = id;
}

/** What to do when the session has ended (idle timeout, signed out elsewhere): set by the page. */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** The answer js/early.js already asked for, once: same path, same device header; null if none or it failed. */
async function takeEarly(method, path) {
  const early = method === "GET" ? globalThis.samtalEarly?.get(path) : null;
  if (!early || early.device !== deviceId) return null;
  globalThis.samtalEarly.delete(path);
  try {
    return await early.response;
  } catch (error) {
    return null;
  }
}

/** What js/early.js asks for on this device's next visit of a case's conversation: its unit and the devices
 * whose keys it looked up (public metadata the page fetches anyway). Forgotten at sign-out. */
export function rememberEarly(device, caseId, unit, devices) {
  try {
    const kept = JSON.parse(localStorage.getItem("samtal.early") || "{}");
    const cases = kept.device === device ? kept.cases || {} : {};
    cases[caseId] = { unit, devices: [...devices].slice(0, 20) };
    localStorage.setItem("samtal.early", JSON.stringify({ device, cases }));
  } catch (error) {
    // no storage: the next visit makes its requests one after the other, as before
  }
}

export function forgetEarly() {
  try {
    localStorage.removeItem("samtal.early");
  } catch (error) {
    // nothing kept
  }
}

/**
 * api("GET", "/api/cases") -> parsed JSON; api("POST", path, {…}) sends JSON; a Uint8Array body is sent as
 * application/octet-stream; {bytes: true} answers with a Uint8Array.
 */
export async function api(method, path, body, { bytes = false } = {}) {
  const headers = { Accept: "application/json" };
  if (deviceId) headers["X-Samtal-Device"] = deviceId;
  const init = { method, headers, credentials: "same-origin", cache: "no-store", redirect: "error" };
  if (body instanceof Uint8Array) {
    headers["Content-Type"] = "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await takeEarly(method, path) || await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "offline", "the server could not be reached");
  }
  if (response.status === 401 && onSignedOut) onSignedOut();
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch (error) {
      // not problem+json: a proxy's error page, for instance
    }
    throw new ApiError(response.status, problem.code || "http_error", problem.detail || `HTTP ${response.status}`);
  }
  if (bytes) return new Uint8Array(await response.arrayBuffer());
  return response.status === 204 ? null : response.json();
}

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
    response = await fetch(path, init);
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

// Where the municipality publishes each unit's signed identity file: unit id -> address. Replaced, when the
// server starts, by what SAMTAL_UNIT_IDENTITY_URLS says (web/anchors.py), and so part of the signed release.
export const UNIT_IDENTITY_URLS = Object.freeze({});

// fhirclient's browser security module falls back to this only when globalThis.crypto is missing;
// Node 20+ always has it.
module.exports = { default: globalThis.crypto };

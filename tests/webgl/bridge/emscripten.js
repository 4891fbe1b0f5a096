// What a Unity WebGL build's Emscripten runtime gives a .jslib, for running one on a plain page:
// a heap (HEAPU8) with _malloc/_free, the UTF-8 helpers, a function table for callbacks, and
// the library linker (mergeInto, autoAddDeps, `$name` objects, `_name` functions).
"use strict";

const HEAPU8 = new Uint8Array(1 << 22);
const heap = { next: 16, live: new Map() };
const utf8 = { encoder: new TextEncoder(), decoder: new TextDecoder("utf-8", { fatal: true }) };

function _malloc(size) {
  const pointer = heap.next;
  heap.next += (size + 15) & ~15;
  if (heap.next > HEAPU8.length) throw new Error("out of test heap");
  heap.live.set(pointer, size);
  return pointer;
}

function _free(pointer) {
  if (!heap.live.delete(pointer)) throw new Error(`free of a pointer never allocated: ${pointer}`);
}

function lengthBytesUTF8(text) {
  return utf8.encoder.encode(text).length;
}

function stringToUTF8(text, pointer, maxBytesToWrite) {
  const bytes = utf8.encoder.encode(text);
  if (bytes.length + 1 > maxBytesToWrite) throw new Error("stringToUTF8 past its buffer");
  HEAPU8.set(bytes, pointer);
  HEAPU8[pointer + bytes.length] = 0;
  return bytes.length;
}

function UTF8ToString(pointer, maxBytesToRead) {
  let end = pointer;
  const limit = maxBytesToRead === undefined ? HEAPU8.length : pointer + maxBytesToRead;
  while (end < limit && HEAPU8[end] !== 0) end += 1;
  return utf8.decoder.decode(HEAPU8.subarray(pointer, end));
}

// Callbacks C# hands to JS are indices in the wasm function table; `makeDynCall` expands to a
// lookup in it (what Emscripten 3.1 emits when dynCall_* stubs are not exported).
const wasmTable = [null];

function addFunction(callback) {
  wasmTable.push(callback);
  return wasmTable.length - 1;
}

function getWasmTableEntry(index) {
  const callback = wasmTable[index];
  if (typeof callback !== "function") throw new Error(`no function at table index ${index}`);
  return callback;
}

const LibraryManager = { library: {} };

function mergeInto(target, source) {
  for (const [key, value] of Object.entries(source)) {
    if (key in target) throw new Error(`library symbol defined twice: ${key}`);
    target[key] = value;
  }
}

function autoAddDeps(object, name) {
  for (const key of Object.keys(object)) {
    if (key.startsWith("$") || key.includes("__")) continue;
    object[`${key}__deps`] = [...(object[`${key}__deps`] || []), name];
  }
}

// Emscripten's linker writes every library symbol into the module as source text: `$name`
// becomes `var name` (only when a function depends on it), a function `name` becomes
// `function _name`. Re-evaluating each from its text at the top level, as here, means a
// library that leans on anything else of its own file fails the way it would in a build.
function serialize(value) {
  if (typeof value === "function") return value.toString();
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(serialize).join(", ")}]`;
  const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${serialize(v)}`);
  return `{${entries.join(",\n")}}`;
}

function linkLibrary() {
  const library = LibraryManager.library;
  const wanted = new Set();
  const linked = [];
  for (const [key, value] of Object.entries(library)) {
    if (key.startsWith("$") || key.includes("__")) continue;
    for (const dependency of library[`${key}__deps`] || []) {
      if (!(dependency in library)) throw new Error(`${key} depends on unknown ${dependency}`);
      wanted.add(dependency);
    }
    globalThis[`_${key}`] = (0, eval)(`(${serialize(value)})`);
    linked.push(`_${key}`);
  }
  for (const dependency of wanted) {
    globalThis[dependency.slice(1)] = (0, eval)(`(${serialize(library[dependency])})`);
  }
  return linked;
}

function liveAllocations() {
  return heap.live.size;
}

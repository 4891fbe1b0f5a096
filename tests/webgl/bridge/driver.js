// Plays the C# side of the bridge (Runtime/Unity/WebGLTransport.cs) on the page: callbacks
// registered once through the function table, string arguments passed as temporary UTF-8
// copies in the heap, received text copied out of the heap before the callback returns, and a
// socket released from inside its close callback. As in the SDK, the callbacks only queue what
// they report; `update`, run on animation frames as Unity's player loop is, hands it on (to
// `csharp.events`, what the client would see). A timer's callback is where the SDK goes on
// (Runtime/Unity/WebGLTimers.cs): each firing is recorded at once in `csharp.fired`, with
// whether the page was hidden and how many updates had run.
"use strict";

const csharp = { inbox: [], events: [], updates: 0, fired: [] };

function withCString(text, call) {
  const size = lengthBytesUTF8(text) + 1;
  const pointer = _malloc(size);
  stringToUTF8(text, pointer, size);
  try {
    return call(pointer);
  } finally {
    _free(pointer);
  }
}

function copyString(pointer, length) {
  return utf8.decoder.decode(HEAPU8.slice(pointer, pointer + length));
}

_MaratangSocketInit(
  addFunction((socket) => csharp.inbox.push({ socket, kind: "open" })),
  addFunction((socket, pointer, length) => {
    const text = copyString(pointer, length);
    csharp.inbox.push({ socket, kind: "message", text, message: JSON.parse(text) });
  }),
  addFunction((socket, code, pointer, length) => {
    csharp.inbox.push({ socket, kind: "close", code, reason: copyString(pointer, length) });
    _MaratangSocketRelease(socket);
  }),
);

_MaratangTimerInit(
  addFunction((timer) =>
    csharp.fired.push({ timer, at: Date.now(), hidden: document.hidden, updates: csharp.updates }),
  ),
);

function update() {
  csharp.updates += 1;
  csharp.events.push(...csharp.inbox.splice(0));
  requestAnimationFrame(update);
}
requestAnimationFrame(update);

const bridge = {
  connect: (socket, url) =>
    withCString(url, (u) =>
      withCString("maratang.v1.json", (protocol) => _MaratangSocketConnect(socket, u, protocol)),
    ),
  send: (socket, message) =>
    withCString(JSON.stringify(message), (text) => _MaratangSocketSend(socket, text)),
  liveness: (socket, intervalMs, timeoutMs) =>
    _MaratangSocketStartLiveness(socket, intervalMs, timeoutMs),
  close: (socket, code, reason) =>
    withCString(reason, (text) => _MaratangSocketClose(socket, code, text)),
  pings: (socket) => MaratangSockets.sockets[socket].pings,
  timer: (timer, ms) => _MaratangTimerStart(timer, ms),
  cancelTimer: (timer) => _MaratangTimerCancel(timer),
  fired: (timer) => csharp.fired.filter((f) => f.timer === timer),

  // The first event of `socket` (of `kind`, and for messages of type `t`) from index `from`.
  find: (socket, kind, t, from = 0) =>
    csharp.events
      .slice(from)
      .find((e) => e.socket === socket && e.kind === kind && (!t || e.message.t === t)) || null,
  messages: (socket, t) =>
    csharp.events.filter((e) => e.socket === socket && e.kind === "message" && e.message.t === t),
};

// Maratang's WebSocket bridge for Unity WebGL builds: the browser's WebSocket, driven from C#
// (Runtime/Unity/WebGLTransport.cs) through [DllImport("__Internal")].
//
// Written against what Unity's Emscripten offers from Unity 2021.3 LTS through Unity 6:
// callbacks into C# through Emscripten's makeDynCall macro; strings with UTF8ToString,
// lengthBytesUTF8, stringToUTF8, _malloc and _free (never Pointer_stringify, Runtime.dynCall
// or Module.dynCall_*, which newer Unity versions removed). The file name and every symbol carry
// "Maratang", since Unity flattens the WebGL plugins of all packages into one namespace.
//
// Close codes reach C# exactly as the browser reports them (4401, 4408, 4429, ...); a socket
// that ends without a close frame, or that the liveness check gives up on, is reported as 1006.
// The liveness ping runs here, on a browser timer: a hidden tab throttles Unity's Update (and
// stops requestAnimationFrame) but keeps running timers, so a background tab keeps its socket
// and a dead socket is still found.
//
// The client's timers run here too (MaratangTimer*, for Runtime/Unity/WebGLTimers.cs): a WebGL
// build runs .NET on one thread, with no thread for System.Threading.Timer, so Task.Delay and
// a CancellationTokenSource's timeout never fire there. A browser timer fires even in a hidden
// tab (throttled to about once a second), and C# goes on inside its callback.

var MaratangWebSocketLibrary = {
  $MaratangSockets: {
    sockets: {},
    onOpen: 0,
    onMessage: 0,
    onClose: 0,

    // Hands `text` to a C# callback as UTF-8 bytes in the wasm heap, freed once C# returns
    // (C# copies them before returning).
    withUtf8: function (text, use) {
      var length = lengthBytesUTF8(text);
      var pointer = _malloc(length + 1);
      stringToUTF8(text, pointer, length + 1);
      try {
        use(pointer, length);
      } finally {
        _free(pointer);
      }
    },

    opened: function (id) {
      {{{ makeDynCall('vi', 'MaratangSockets.onOpen') }}}(id);
    },

    received: function (id, text) {
      MaratangSockets.withUtf8(text, function (pointer, length) {
        {{{ makeDynCall('viii', 'MaratangSockets.onMessage') }}}(id, pointer, length);
      });
    },

    // Reports the end of socket `id` to C#, once; the browser socket reports nothing more.
    ended: function (id, code, reason) {
      var entry = MaratangSockets.sockets[id];
      if (!entry || entry.ended) return;
      entry.ended = true;
      MaratangSockets.stopLiveness(entry);
      var socket = entry.socket;
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      MaratangSockets.withUtf8(reason, function (pointer, length) {
        {{{ makeDynCall('viiii', 'MaratangSockets.onClose') }}}(id, code, pointer, length);
      });
    },

    // An app-level ping every `intervalMs`; when nothing at all has arrived within
    // `timeoutMs` of a ping, the socket is taken for dead. The check measures wall-clock time
    // and any frame that arrived meanwhile answers the ping, so a timer the browser throttles
    // or delays cannot mistake a live socket for a dead one.
    startLiveness: function (id, intervalMs, timeoutMs) {
      var entry = MaratangSockets.sockets[id];
      if (!entry || entry.ended) return;
      MaratangSockets.stopLiveness(entry);
      var tick = function () {
        var now = Date.now();
        if (entry.awaiting) {
          if (now - entry.pingedAt < timeoutMs) return;
          try { entry.socket.close(); } catch (ignored) { }
          MaratangSockets.ended(id, 1006, "no answer to ping");
        } else if (now - entry.pingedAt >= intervalMs && entry.socket.readyState === 1) {
          entry.awaiting = true;
          entry.pingedAt = now;
          entry.pings += 1;
          entry.socket.send('{"t":"ping","ts":' + now + '}');
        }
      };
      entry.liveness = setInterval(tick, Math.max(100, Math.min(intervalMs, timeoutMs) / 4));
      tick();
    },

    stopLiveness: function (entry) {
      if (entry.liveness) clearInterval(entry.liveness);
      entry.liveness = 0;
    }
  },

  $MaratangTimers: {
    timers: {},
    onFire: 0
  },

  // Registers the C# callback onFire(id) (a static [MonoPInvokeCallback] method).
  MaratangTimerInit: function (onFire) {
    MaratangTimers.onFire = onFire;
  },

  // Calls onFire(id) once, after `ms` milliseconds, unless cancelled first.
  MaratangTimerStart: function (id, ms) {
    MaratangTimers.timers[id] = setTimeout(function () {
      delete MaratangTimers.timers[id];
      {{{ makeDynCall('vi', 'MaratangTimers.onFire') }}}(id);
    }, ms);
  },

  // Cancels timer `id`: onFire(id) does not follow. A timer already fired or cancelled is ignored.
  MaratangTimerCancel: function (id) {
    if (!(id in MaratangTimers.timers)) return;
    clearTimeout(MaratangTimers.timers[id]);
    delete MaratangTimers.timers[id];
  },

  // Registers the three C# callbacks (static [MonoPInvokeCallback] methods):
  // onOpen(id), onMessage(id, utf8, length), onClose(id, code, utf8Reason, length).
  MaratangSocketInit: function (onOpen, onMessage, onClose) {
    MaratangSockets.onOpen = onOpen;
    MaratangSockets.onMessage = onMessage;
    MaratangSockets.onClose = onClose;
  },

  // Opens socket `id` offering `subprotocol`. Returns 0, or -1 when the browser refuses the
  // URL at once (nothing is reported then). Otherwise onOpen or onClose follows; an onClose
  // before onOpen means the handshake failed (the browser does not say why).
  MaratangSocketConnect: function (id, url, subprotocol) {
    var socket;
    try {
      socket = new WebSocket(UTF8ToString(url), UTF8ToString(subprotocol));
    } catch (refused) {
      return -1;
    }
    var entry = { socket: socket, ended: false, liveness: 0, awaiting: false, pingedAt: 0, pings: 0 };
    MaratangSockets.sockets[id] = entry;
    socket.binaryType = "arraybuffer";
    socket.onopen = function () {
      MaratangSockets.opened(id);
    };
    socket.onmessage = function (event) {
      entry.awaiting = false;
      if (typeof event.data === "string") MaratangSockets.received(id, event.data);
    };
    socket.onclose = function (event) {
      MaratangSockets.ended(id, event.code || 1006, event.reason || "");
    };
    return 0;
  },

  // Sends one text frame. Returns 0, or -1 when socket `id` is not open.
  MaratangSocketSend: function (id, text) {
    var entry = MaratangSockets.sockets[id];
    if (!entry || entry.ended || entry.socket.readyState !== 1) return -1;
    entry.socket.send(UTF8ToString(text));
    return 0;
  },

  MaratangSocketStartLiveness: function (id, intervalMs, timeoutMs) {
    MaratangSockets.startLiveness(id, intervalMs, timeoutMs);
  },

  // Starts the close handshake; onClose follows with the code the server answers.
  MaratangSocketClose: function (id, code, reason) {
    var entry = MaratangSockets.sockets[id];
    if (!entry || entry.ended) return;
    try {
      entry.socket.close(code, UTF8ToString(reason));
    } catch (invalid) {
      entry.socket.close();
    }
  },

  // Drops socket `id` at once: onClose(1006) is reported now, whatever the browser does next.
  MaratangSocketAbort: function (id) {
    var entry = MaratangSockets.sockets[id];
    if (!entry || entry.ended) return;
    try { entry.socket.close(); } catch (ignored) { }
    MaratangSockets.ended(id, 1006, "aborted");
  },

  // Forgets socket `id` (after its onClose, or to give it up): nothing more is reported.
  MaratangSocketRelease: function (id) {
    var entry = MaratangSockets.sockets[id];
    if (!entry) return;
    entry.ended = true;
    MaratangSockets.stopLiveness(entry);
    var socket = entry.socket;
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    if (socket.readyState < 2) socket.close();
    delete MaratangSockets.sockets[id];
  }
};

autoAddDeps(MaratangWebSocketLibrary, "$MaratangSockets");
autoAddDeps(MaratangWebSocketLibrary, "$MaratangTimers");
mergeInto(LibraryManager.library, MaratangWebSocketLibrary);

// The table inspector's page: reads /admin/api/... and shows what it says. The browser sends
// the admin token with each read: it asked for it (HTTP Basic) when it opened the page.
// Everything the server sends is rendered as text (textContent), never as markup: player
// names and narrations are written by players and by a model.
"use strict";

(() => {
  const TABLES_EVERY_MS = 1000;
  const LOG_EVERY_MS = 400;
  const LOG_PAGE = 500;
  const LOG_KEEP = 5000; // entries the page keeps of a long log, the newest

  const $ = (id) => document.getElementById(id);

  class Refused extends Error {}

  class Failed extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- the API ---------------------------------------------------------------------------

  async function api(path) {
    const response = await fetch("/admin/api" + path, { cache: "no-store" });
    if (response.status === 401) throw new Refused();
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const said = body && body.error ? body.error.message : response.statusText;
      throw new Failed(response.status, said);
    }
    return body;
  }

  // --- small DOM helpers ---------------------------------------------------------------

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      tr.append(cell instanceof Node ? wrap("td", cell) : el("td", cell));
    }
    return tr;
  }

  function wrap(tag, child) {
    const node = document.createElement(tag);
    node.append(child);
    return node;
  }

  function time(ms) {
    return ms ? new Date(ms).toLocaleString() : "";
  }

  function bytes(n) {
    return n < 1024 ? n + " B" : (n / 1024).toFixed(1) + " KiB";
  }

  // --- the status line -------------------------------------------------------------------

  function trouble(error) {
    if (error instanceof Refused) {
      stopAll();
      status("The server refused the admin token (401): if it changed, reload the page.", true);
      return true;
    }
    status("Could not read the server: " + error.message, true);
    return false;
  }

  function status(text, bad) {
    const line = document.querySelector(".status");
    line.textContent = text;
    line.classList.toggle("trouble", Boolean(bad));
  }

  // --- timers ----------------------------------------------------------------------------

  const timers = { tables: 0, table: 0, log: 0 };
  let opened = null; // the table shown: { session, cursor, seq, nid, text, streaming }

  function later(name, work, ms) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(work, ms);
  }

  function stopAll() {
    for (const name of Object.keys(timers)) clearTimeout(timers[name]);
    opened = null;
  }

  // --- live tables -----------------------------------------------------------------------

  async function refreshTables() {
    try {
      const answer = await api("/tables");
      showTables(answer);
      const process = answer.this_process;
      status(
        `Updated ${new Date().toLocaleTimeString()} · answered by process ${process.pid} ` +
          `(${process.workers} worker${process.workers === 1 ? "" : "s"}): ` +
          `"here" figures are that process's alone`,
      );
    } catch (error) {
      if (trouble(error)) return;
    }
    later("tables", refreshTables, TABLES_EVERY_MS);
  }

  function showTables(answer) {
    const body = $("tables");
    body.replaceChildren();
    for (const table of answer.tables) {
      const tr = row([
        table.code,
        table.phase,
        `${table.round} / ${table.rounds}`,
        seatsOf(table.seats),
        narrationOf(table.narration),
        table.this_process.sockets,
        bytes(table.this_process.queued_bytes),
      ]);
      tr.className = "link";
      tr.dataset.session = table.session;
      if (opened && opened.session === table.session) tr.classList.add("chosen");
      tr.addEventListener("click", () => show("table", table.session));
      body.append(tr);
    }
    $("no-tables").hidden = answer.tables.length > 0;
    $("overview").textContent = overview(answer);
  }

  function seatsOf(seats) {
    const list = document.createElement("span");
    seats.forEach((seat, i) => {
      if (i > 0) list.append(", ");
      const name = el("span", seat.name, seat.presence === "away" ? "away" : "");
      name.title = `${seat.player} · ${seat.presence}`;
      list.append(name);
      if (seat.presence === "away") list.append(" (away)");
    });
    return list;
  }

  function narrationOf(narration) {
    if (!narration) return "";
    const state = narration.streaming ? "streaming" : "told";
    const source = narration.source || "nothing yet";
    return `${narration.nid} · ${state} · ${source} · ${narration.characters} chars`;
  }

  function overview(answer) {
    const parts = [`live tables: ${answer.tables.length}${answer.more ? " (more not shown)" : ""}`];
    for (const slot of answer.narration.slots) {
      parts.push(`${slot.endpoint}: ${slot.taken} / ${slot.limit} slots (${slot.breaker})`);
    }
    if (!answer.narration.slots.length) parts.push("narrator: templates only (no model)");
    const here = answer.narration.this_process;
    parts.push(`model requests here: ${here.in_flight}`);
    parts.push(`waiting for a model slot here: ${here.waiting_for_slot}`);
    parts.push(
      answer.records.kept
        ? `records waiting here: ${answer.records.this_process.pending}`
        : "records: not kept (no database)",
    );
    return parts.join(" · ");
  }

  // --- one table ------------------------------------------------------------------------

  async function openTable(session) {
    $("table").hidden = false;
    $("log").replaceChildren();
    $("log-facts").textContent = "";
    try {
      const detail = await api("/tables/" + encodeURIComponent(session));
      if (wanted().get("table") !== session) return; // another was chosen meanwhile
      const narration = detail.narration;
      opened = {
        session,
        cursor: 0,
        seq: detail.seq,
        narration, // nid, kind, round, streaming, source of the table's narration
        text: narration ? narration.text : "",
      };
      showTable(detail);
      showNarration();
      readLog();
      later("table", () => refreshTable(session), TABLES_EVERY_MS);
    } catch (error) {
      if (!trouble(error)) $("table-facts").textContent = error.message;
    }
  }

  async function refreshTable(session) {
    if (!opened || opened.session !== session) return;
    try {
      showTable(await api("/tables/" + encodeURIComponent(session)));
    } catch (error) {
      if (trouble(error)) return;
      if (error.status === 404) {
        $("table-facts").textContent = "This table is gone (finished and forgotten).";
        return;
      }
    }
    later("table", () => refreshTable(session), TABLES_EVERY_MS);
  }

  function showTable(detail) {
    $("table-code").textContent = `${detail.code} (${detail.session})`;
    const facts = [
      `phase ${detail.phase}`,
      `round ${detail.round} of ${detail.rounds}`,
      `${detail.seconds} s a round`,
      `lang ${detail.lang}`,
      `version ${detail.version}`,
      `seq ${detail.seq}`,
    ];
    if (detail.deadline) facts.push(`deadline ${time(detail.deadline)}`);
    if (detail.pending_narration) facts.push(`next narration waiting: ${detail.pending_narration}`);
    if (detail.this_process.relaying) facts.push(`relayed by this process`);
    $("table-facts").textContent = facts.join(" · ");
    const body = $("players");
    body.replaceChildren();
    for (const player of detail.players) {
      const sockets = player.sockets_here.map(
        (s) =>
          `${s.codec.replace("maratang.v1.", "")} ${bytes(s.queued_bytes)}` +
          (s.catching_up ? " catching up" : "") +
          (s.pushing_back ? " pushing back" : ""),
      );
      body.append(
        row([
          player.player + (player.host ? " (host)" : ""),
          player.name,
          el("span", player.presence, player.presence === "away" ? "away" : ""),
          player.total,
          player.submitted ? "submitted" : "",
          sockets.join(", ") || "none",
        ]),
      );
    }
  }

  function showNarration() {
    const narration = opened && opened.narration;
    const facts = $("narration-facts");
    if (!narration) {
      facts.textContent = "No narration yet.";
    } else {
      const state = narration.streaming ? "streaming" : "told";
      const source = narration.source || "nothing told yet";
      const what = `${narration.kind} ${narration.nid} (round ${narration.round})`;
      facts.textContent = `${what} · ${state} · ${source}`;
    }
    showStory();
  }

  function showStory() {
    const story = $("narration-text");
    story.textContent = opened ? opened.text : "";
    story.classList.toggle("streaming", Boolean(opened && opened.narration?.streaming));
    story.dataset.characters = String(opened ? opened.text.length : 0);
  }

  // The log, from its first kept event on; narration events after the detail's `seq` move
  // the story on (the detail's text holds everything up to it).
  async function readLog() {
    const table = opened;
    if (!table) return;
    let wait = LOG_EVERY_MS;
    try {
      const path = `/tables/${encodeURIComponent(table.session)}/events`;
      const page = await api(`${path}?after=${table.cursor}&limit=${LOG_PAGE}`);
      if (opened !== table) return;
      if (page.from > page.after) logGap(page.from);
      for (const event of page.events) {
        logEvent(event);
        if (event.seq > table.seq) tell(table, event);
      }
      table.cursor = page.next;
      const entries = $("log").childElementCount;
      $("log-facts").textContent = `${entries} entries, read up to seq ${page.next}`;
      if (page.more) wait = 0;
    } catch (error) {
      if (trouble(error) || opened !== table) return;
      if (error.status === 404) return; // refreshTable says it is gone
      if (error.status === 410) {
        openTable(table.session); // restored from its snapshot since: read it afresh
        return;
      }
    }
    later("log", readLog, wait);
  }

  function tell(table, event) {
    const current = table.narration;
    if (event.t === "narration.start") {
      const { nid, kind, round } = event;
      table.narration = { nid, kind, round, streaming: true, source: null };
      table.text = "";
      showNarration();
    } else if (event.t === "narration.delta" && current && event.nid === current.nid) {
      table.text += event.text;
      showStory();
    } else if (event.t === "narration.end" && current && event.nid === current.nid) {
      table.narration = { ...current, streaming: false, source: event.source };
      table.text = event.text;
      showNarration();
    }
  }

  function logEvent(event) {
    const { t, seq, session, ...rest } = event;
    const item = el("li", `${t} ${JSON.stringify(rest)}`);
    item.value = seq;
    const log = $("log");
    const following = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(item);
    while (log.childElementCount > LOG_KEEP) log.firstElementChild.remove();
    if (following) log.scrollTop = log.scrollHeight; // the newest stays in sight
  }

  function logGap(from) {
    $("log").append(el("li", `… the log no longer holds the events up to seq ${from}`, "gap"));
  }

  function closeTable() {
    clearTimeout(timers.table);
    clearTimeout(timers.log);
    opened = null;
    $("table").hidden = true;
  }

  // --- finished games --------------------------------------------------------------------

  let olderThan = null;

  async function loadGames(more) {
    try {
      const page = await api("/games?limit=20" + (more && olderThan ? `&before=${olderThan}` : ""));
      if (!more) $("games").replaceChildren();
      $("games-message").textContent = page.kept ? "" : page.message;
      for (const game of page.games) $("games").append(gameRow(game));
      olderThan = page.next;
      $("older").hidden = page.next === null;
    } catch (error) {
      if (!trouble(error)) $("games-message").textContent = error.message;
    }
  }

  function gameRow(game) {
    const players = game.players.map((p) => `${p.place}. ${p.name} (${p.total})`).join(", ");
    const tr = row([time(game.finished_at), game.id, game.rounds, players]);
    tr.className = "link";
    tr.dataset.game = game.id;
    tr.addEventListener("click", () => show("game", game.id));
    return tr;
  }

  async function openGame(id) {
    $("game").hidden = false;
    $("game").dataset.id = id;
    $("game-id").textContent = id;
    $("game-rounds").replaceChildren();
    try {
      const game = await api("/games/" + encodeURIComponent(id));
      if ($("game").dataset.id === id) showGame(game); // unless another was chosen meanwhile
    } catch (error) {
      if (!trouble(error)) $("game-facts").textContent = error.message;
    }
  }

  function showGame(game) {
    const names = new Map(game.players.map((p) => [p.id, p.name]));
    const ranking = game.players.map((p) => `${p.place}. ${p.name} ${p.total}`).join(" · ");
    const facts = [`session ${game.session}`, `finished ${time(game.finished_at)}`];
    $("game-facts").textContent = [...facts, game.settings.lang, ranking].join(" · ");
    const rounds = $("game-rounds");
    for (const round of game.rounds) {
      const part = el("div", null, "round");
      const customer = round.customer.name
        ? `${round.customer.name} (${round.customer.name_en})`
        : round.customer.id;
      part.append(el("h3", `Round ${round.round} · ${customer}`));
      const scores = round.results.map((r) => `${names.get(r.player) || r.player} ${r.score}`);
      part.append(el("p", "Scores: " + scores.join(", "), "facts"));
      for (const told of round.narrations) part.append(narrationBlock(told));
      rounds.append(part);
    }
    if (game.finale) {
      const part = el("div", null, "round");
      part.append(el("h3", "Finale"), narrationBlock(game.finale));
      rounds.append(part);
    }
  }

  function narrationBlock(told) {
    const block = el("div", null, "told");
    block.dataset.nid = told.nid;
    block.append(el("div", `${told.nid} · ${told.source}`, "kind"));
    block.append(el("p", told.text, "story"));
    return block;
  }

  function closeGame() {
    $("game").hidden = true;
    delete $("game").dataset.id;
  }

  // --- where the page is (#table=<session>&game=<id>) -----------------------------------

  function wanted() {
    return new URLSearchParams(location.hash.replace(/^#/, ""));
  }

  function show(kind, value) {
    const where = wanted();
    if (value) where.set(kind, value);
    else where.delete(kind);
    location.hash = where.toString();
  }

  function route() {
    const where = wanted();
    const session = where.get("table");
    if (!session) closeTable();
    else if (!opened || opened.session !== session) {
      closeTable();
      openTable(session);
    }
    const game = where.get("game");
    if (!game) closeGame();
    else if ($("game").dataset.id !== game) openGame(game);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("older").addEventListener("click", () => loadGames(true));
    for (const [button, kind] of [["close-table", "table"], ["close-game", "game"]]) {
      $(button).addEventListener("click", (event) => {
        event.preventDefault();
        show(kind, "");
      });
    }
    window.addEventListener("hashchange", route);
    status("Reading the server…");
    refreshTables();
    loadGames(false);
    route();
  });
})();

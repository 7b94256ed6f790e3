// The overview's live update: GET /api/overview every 2 s and rewrite the rows' cells (the charts when the
// server read them again), no reload.
"use strict";
(function () {
  const table = document.getElementById("labourers");
  if (!table) return;
  function age(s) {
    if (s === null) return "-";
    for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"]]) {
      if (s >= size) return (s / size).toFixed(1) + " " + unit;
    }
    return Math.floor(s) + " s";
  }
  function gauge(cell, running, cap) {
    cell.textContent = "";
    if (running === null || cap === null) { cell.textContent = "no counter yet"; return; }
    const meter = document.createElement("meter");
    meter.min = 0; meter.max = Math.max(cap, 1); meter.value = running;
    cell.append(meter, " " + running + " / " + cap);
  }
  function update(rows) {
    for (const row of rows) {
      const tr = table.querySelector('tr[data-labourer="' + CSS.escape(row.labourer) + '"]');
      if (!tr) { location.reload(); return; }  // a labourer was added: the page itself is stale
      const cells = tr.children;
      gauge(cells[1], row.running, row.cap);
      cells[2].textContent = row.queued.text;
      cells[3].textContent = age(row.oldest_queued_age);
      cells[4].textContent = row.completed_1h.text;
      cells[5].textContent = row.dead_24h.text;
      cells[6].textContent = row.health;
      cells[7].textContent = row.paused ? "paused: " + row.paused_reason : "no";
      if (row.charts_at && tr.dataset.chartsAt !== row.charts_at) {  // the server read them again (every 30 s)
        tr.dataset.chartsAt = row.charts_at;
        cells[8].innerHTML = row.charts[0]; cells[9].innerHTML = row.charts[1];  // server-rendered, escaped SVG
      }
    }
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
  }
  async function poll() {
    try {
      const response = await fetch("/api/overview", { headers: { Accept: "application/json" } });
      if (response.ok) update((await response.json()).labourers);
    } catch (e) { /* the console restarting: try again next time */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();

// The live incident map: loads incidents from /api/incidents, then keeps
// them current from the server-sent events of /api/events, without reloads.
(function () {
  "use strict";
  const cfg = document.body.dataset;
  const map = L.map("map").setView([parseFloat(cfg.lat) || 0, parseFloat(cfg.lon) || 0], parseInt(cfg.zoom, 10) || 2);
  const mapNote = document.getElementById("map-note");

  function note(text) {
    mapNote.textContent = text;
    mapNote.hidden = false;
  }

  // outline draws the country outlines shipped with the dashboard, under
  // everything else: the map is never a grey void, even without internet.
  function outline() {
    document.getElementById("map").classList.add("offline-basemap");
    fetch(cfg.outline, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("status " + r.status))))
      .then((world) => {
        L.geoJSON(world, { interactive: false, className: "basemap-outline",
          attribution: "Natural Earth" }).addTo(map).bringToBack();
      })
      .catch((err) => note("The built-in map outlines could not be loaded (" + err.message + ")."));
  }

  if (cfg.basemap === "image") {
    const b = cfg.planBounds.split(",").map(parseFloat);
    const bounds = L.latLngBounds([b[0], b[1]], [b[2], b[3]]);
    L.imageOverlay("/site-plan", bounds, { className: "site-plan", alt: "site plan" })
      .on("error", () => note("The site plan image could not be loaded."))
      .addTo(map);
    map.fitBounds(bounds, { animate: false });
  } else {
    outline();
    if (cfg.basemap !== "outline" && cfg.tiles) {
      let host = cfg.tiles;
      try { host = new URL(cfg.tiles.replace(/[{}]/g, "")).host; } catch (err) { /* keep the template */ }
      const tiles = L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: cfg.tileAttribution || "" }).addTo(map);
      tiles.once("tileerror", () => note("Map tiles from " + host + " cannot be loaded (no internet on this network?): " +
        "the map shows the built-in country outlines instead. Set TILE_URL to a tile server this network reaches, " +
        "or BASEMAP=outline or BASEMAP=image for a site plan."));
    }
  }
  const classes = ["fire", "gun", "knife", "accident"];
  const icons = {};
  for (const c of classes) {
    icons[c] = L.icon({ iconUrl: "/static/icons/" + c + ".svg", iconSize: [32, 40], iconAnchor: [16, 39], popupAnchor: [0, -34] });
  }
  const incidents = new Map(); // id -> {inc, marker, item}
  const list = document.getElementById("list");
  const statusEl = document.getElementById("status");
  const filters = document.getElementById("filters");
  const wanted = new URLSearchParams(location.search).get("incident");

  function shown(inc) {
    const f = new FormData(filters);
    return f.getAll("class").includes(inc.class) && (inc.status !== "closed" || f.get("closed") !== null);
  }

  function when(s) {
    return s ? new Date(s).toLocaleString() : "";
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // popup builds the popup's DOM with textContent only: captions and
  // camera names never become markup.
  function popup(inc) {
    const box = el("div", "popup");
    box.dataset.incident = inc.id;
    box.appendChild(el("h3", "", inc.class + " on " + inc.camera + (inc.status === "closed" ? " (closed)" : "")));
    if (inc.has_snapshot) {
      const img = el("img");
      img.alt = "snapshot of " + inc.class + " on " + inc.camera;
      img.src = "/api/incidents/" + encodeURIComponent(inc.id) + "/snapshot.jpg?v=" + inc.version;
      box.appendChild(img);
    }
    if (inc.caption) box.appendChild(el("p", "caption", inc.caption));
    const dl = el("dl");
    const row = (k, v) => { dl.appendChild(el("dt", "", k)); dl.appendChild(el("dd", "", v)); };
    row("opened", when(inc.opened_at));
    row("last seen", when(inc.last_seen_at));
    if (inc.closed_at) row("closed", when(inc.closed_at));
    row("confidence", Math.round(inc.confidence * 100) + " %");
    row("detections", String(inc.hits));
    box.appendChild(dl);
    return box;
  }

  function upsert(inc, fresh) {
    let e = incidents.get(inc.id);
    if (!e) {
      e = { inc: inc };
      incidents.set(inc.id, e);
      e.item = el("li");
      e.item.dataset.incident = inc.id;
      e.item.addEventListener("click", () => focus(inc.id));
    } else if (e.inc.version > inc.version) {
      return; // an older state arrived late
    }
    e.inc = inc;
    const item = e.item;
    item.className = inc.status;
    item.replaceChildren();
    const img = el("img");
    img.src = "/static/icons/" + inc.class + ".svg";
    img.alt = inc.class;
    item.append(img, el("span", "", inc.class + " · " + inc.camera), el("span", "when", when(inc.opened_at)));
    if (inc.location) {
      const ll = [inc.location.lat, inc.location.lon];
      if (!e.marker) {
        e.marker = L.marker(ll, { icon: icons[inc.class], title: inc.class + " on " + inc.camera, alt: inc.class, riseOnHover: true });
        e.marker.bindPopup(() => popup(e.inc));
      } else {
        e.marker.setLatLng(ll);
      }
    }
    place(e);
    if (e.marker && e.marker.isPopupOpen()) e.marker.setPopupContent(popup(inc));
    if (fresh && e.marker && e.marker.getElement()) {
      e.marker.getElement().classList.add("fresh");
    }
  }

  // place puts an incident's marker and list item on the page or takes them
  // off, by the filters, keeping the list newest first.
  function place(e) {
    const inc = e.inc;
    if (!shown(inc)) {
      if (e.marker) e.marker.remove();
      e.item.remove();
      return;
    }
    if (e.marker) {
      e.marker.addTo(map);
      const m = e.marker.getElement();
      m.dataset.incident = inc.id;
      m.classList.add("incident-marker", "incident-" + inc.class);
      m.classList.toggle("closed", inc.status === "closed");
    }
    let before = null;
    for (const li of list.children) {
      const other = incidents.get(li.dataset.incident);
      if (li !== e.item && other && other.inc.opened_at < inc.opened_at) { before = li; break; }
    }
    if (e.item.nextSibling !== before || e.item.parentNode !== list) list.insertBefore(e.item, before);
    document.getElementById("count").textContent = String(list.children.length);
  }

  function focus(id) {
    const e = incidents.get(id);
    if (!e || !e.marker) return;
    map.setView(e.marker.getLatLng(), Math.max(map.getZoom(), 15));
    e.marker.openPopup();
  }

  let fitted = false;

  // fitAll shows every shown incident the first time the list arrives.
  function fitAll() {
    const pts = [];
    for (const e of incidents.values()) {
      if (e.marker && shown(e.inc)) pts.push(e.marker.getLatLng());
    }
    if (pts.length > 0) {
      map.fitBounds(L.latLngBounds(pts), { padding: [60, 60], maxZoom: 15, animate: false });
      fitted = true;
    }
  }

  async function load() {
    try {
      const resp = await fetch("/api/incidents?limit=1000", { credentials: "same-origin" });
      if (resp.status === 401) { location.reload(); return; }
      if (!resp.ok) throw new Error("status " + resp.status);
      const body = await resp.json();
      for (const inc of body.incidents) upsert(inc, false);
      if (wanted && incidents.has(wanted)) focus(wanted);
      else if (!fitted) fitAll();
    } catch (err) {
      statusEl.textContent = "cannot load incidents";
      statusEl.className = "status";
    }
  }

  filters.addEventListener("change", () => { for (const e of incidents.values()) place(e); });

  const source = new EventSource("/api/events");
  source.addEventListener("open", () => {
    statusEl.textContent = "live";
    statusEl.className = "status live";
    load(); // also after every reconnection: catch up on what was missed
  });
  source.addEventListener("error", () => {
    statusEl.textContent = "reconnecting…";
    statusEl.className = "status connecting";
  });
  source.addEventListener("incident", (ev) => upsert(JSON.parse(ev.data), true));
  source.addEventListener("resync", load);
})();

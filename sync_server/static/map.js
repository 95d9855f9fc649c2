// The Map page: points from /map/points.json (the page's filters), clustered, one colour per
// review state; a popup opens the submission. Tiles come from the configured tile server, the
// only other host the page's Content-Security-Policy allows images from. Every word from the
// server is put in as text, never as HTML.
(function () {
  const box = document.getElementById("map");
  if (!box || !window.L) return;
  const status = document.getElementById("map-status");
  const map = L.map(box, { scrollWheelZoom: false }).setView([23.7, 90.4], 6);
  const tiles = L.tileLayer(box.dataset.tiles, { maxZoom: 19 });
  tiles.getAttribution = () => {
    const span = document.createElement("span");
    span.textContent = box.dataset.attribution;
    return span.innerHTML;
  };
  tiles.addTo(map);
  const clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
  map.addLayer(clusters);

  function popup(point, openText) {
    const div = document.createElement("div");
    div.className = "map-popup";
    const line = document.createElement("div");
    const dot = document.createElement("span");
    dot.className = `dot state-${point.state}`;
    line.append(dot, ` ${point.state_name}`);
    const where = document.createElement("div");
    where.textContent = [point.place, point.date].filter(Boolean).join(" · ");
    const link = document.createElement("a");
    link.href = point.url;
    link.textContent = openText;
    div.append(line, where, link);
    return div;
  }

  fetch(box.dataset.points, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText))))
    .then((data) => {
      const markers = data.points.map((p) => {
        const icon = L.divIcon({ className: "pin", html: `<span class="dot state-${p.state.replace(/[^a-z_]/g, "")}"></span>`, iconSize: [14, 14] });
        const marker = L.marker([p.lat, p.lon], { icon, title: p.place || String(p.id) });
        marker.bindPopup(() => popup(p, data.open));
        marker.sangjogId = p.id;
        return marker;
      });
      // The view first, then the markers: clusters are made once, at the zoom they are seen at.
      if (markers.length) {
        const bounds = L.latLngBounds(markers.map((m) => m.getLatLng()));
        map.fitBounds(bounds, { maxZoom: 14, padding: [20, 20], animate: false });
      }
      clusters.addLayers(markers);
      status.textContent = markers.length ? (data.capped ? box.dataset.capped : "") : box.dataset.empty;
      box.dataset.loaded = String(markers.length);
    })
    .catch((err) => { status.textContent = String(err); box.dataset.loaded = "error"; });
})();
